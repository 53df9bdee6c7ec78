"""Registers a stand-in rotation Lambda function on moto and prints its ARN.

moto cannot run a Lambda function here (that needs Docker), so it is told
to answer invocations without running anything; `RotateSecret` then sees a
function that exists and whose `testSecret` step succeeds. Usage:
moto_rotation_function.py ENDPOINT NAME
"""

import io
import json
import sys
import urllib.request
import zipfile

import boto3

endpoint, name = sys.argv[1], sys.argv[2]
request = urllib.request.Request(
    f"{endpoint}/moto-api/config",
    data=json.dumps({"lambda": {"use_docker": False}}).encode(),
    headers={"Content-Type": "application/json"},
    method="POST",
)
urllib.request.urlopen(request).read()

settings = dict(
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="keyplane-test",
    aws_secret_access_key="keyplane-test",
)
trust = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
role = boto3.client("iam", **settings).create_role(
    RoleName=name, AssumeRolePolicyDocument=json.dumps(trust)
)["Role"]["Arn"]
code = io.BytesIO()
with zipfile.ZipFile(code, "w") as archive:
    archive.writestr("bootstrap", "#!/bin/sh\n")
function = boto3.client("lambda", **settings).create_function(
    FunctionName=name,
    Runtime="provided.al2023",
    Role=role,
    Handler="bootstrap",
    Code={"ZipFile": code.getvalue()},
)
print(function["FunctionArn"])
