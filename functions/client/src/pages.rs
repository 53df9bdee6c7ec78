//! Following `next_cursor` from page to page, as a stream of items.

use std::future::Future;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::Error;

/// Where the walk is.
enum Position {
    /// Fetch the page at this cursor (`None`: the first page).
    At(Option<String>),
    /// The last page has been read.
    Done,
}

/// The items of every page, fetching the page at a cursor with `fetch`,
/// from `start` on, until a page has no `next_cursor`. A failed page ends
/// the stream with its error. A cursor that repeats the one just used ends
/// it too, so a confused server cannot make the stream endless.
pub(crate) fn paginate<T, F, Fut>(
    start: Option<String>,
    fetch: F,
) -> BoxStream<'static, Result<T, Error>>
where
    T: Send + 'static,
    F: FnMut(Option<String>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), Error>> + Send + 'static,
{
    stream::try_unfold(
        (fetch, Position::At(start)),
        |(mut fetch, position)| async move {
            let Position::At(cursor) = position else {
                return Ok::<_, Error>(None);
            };
            let (items, next) = fetch(cursor.clone()).await?;
            let position = match next {
                Some(next) if Some(&next) != cursor.as_ref() => Position::At(Some(next)),
                _ => Position::Done,
            };
            let items = stream::iter(items.into_iter().map(Ok));
            Ok(Some((items, (fetch, position))))
        },
    )
    .try_flatten()
    .boxed()
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::paginate;
    use crate::Error;

    #[tokio::test]
    async fn follows_cursors_and_stops_on_a_repeated_one() {
        let items: Vec<u32> = paginate(None, |cursor| async move {
            Ok::<_, Error>(match cursor.as_deref() {
                None => (vec![1, 2], Some("a".to_owned())),
                Some("a") => (vec![3], Some("b".to_owned())),
                _ => (vec![4], Some("b".to_owned())),
            })
        })
        .try_collect()
        .await
        .expect("pages");
        assert_eq!(items, vec![1, 2, 3, 4]);
    }
}
