//! Schema shorthands: every attribute has a description, so each helper
//! takes one.

use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Description};

fn attribute(attr_type: AttributeType, constraint: AttributeConstraint, doc: &str) -> Attribute {
    Attribute {
        attr_type,
        description: Description::markdown(doc),
        constraint,
        sensitive: false,
        deprecated: false,
    }
}

pub(crate) fn required(attr_type: AttributeType, doc: &str) -> Attribute {
    attribute(attr_type, AttributeConstraint::Required, doc)
}

pub(crate) fn optional(attr_type: AttributeType, doc: &str) -> Attribute {
    attribute(attr_type, AttributeConstraint::Optional, doc)
}

pub(crate) fn optional_computed(attr_type: AttributeType, doc: &str) -> Attribute {
    attribute(attr_type, AttributeConstraint::OptionalComputed, doc)
}

pub(crate) fn computed(attr_type: AttributeType, doc: &str) -> Attribute {
    attribute(attr_type, AttributeConstraint::Computed, doc)
}

pub(crate) fn string() -> AttributeType {
    AttributeType::String
}

pub(crate) fn string_map() -> AttributeType {
    AttributeType::Map(Box::new(AttributeType::String))
}
