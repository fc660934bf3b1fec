#!/usr/bin/env python3
"""Minimal SigV4 S3 client for the lab (stdlib only): create a bucket, count the multipart uploads
left in it. Usage: s3cli.py --endpoint http://127.0.0.1:PORT --access-key K --secret-key S
                   create-bucket NAME | list-uploads NAME"""
import argparse
import datetime
import hashlib
import hmac
import http.client
import re
import sys
import urllib.parse


def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def request(endpoint, access, secret, method, path, query="", body=b"", region="us-east-1"):
    u = urllib.parse.urlsplit(endpoint)
    host = u.netloc
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    payload = hashlib.sha256(body).hexdigest()
    headers = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canon_headers = "".join("%s:%s\n" % (k, headers[k]) for k in sorted(headers))
    canon_query = "&".join(sorted(
        "%s=%s" % (urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
        for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)))
    canon = "\n".join([method, urllib.parse.quote(path, safe="/-_.~"), canon_query,
                       canon_headers, signed, payload])
    scope = "%s/%s/s3/aws4_request" % (day, region)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(canon.encode()).hexdigest()])
    k = sign(("AWS4" + secret).encode(), day)
    k = sign(sign(sign(k, region), "s3"), "aws4_request")
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
                                "Signature=%s" % (access, scope, signed, sig))
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request(method, path + ("?" + query if query else ""), body=body, headers=headers)
    r = conn.getresponse()
    return r.status, r.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--access-key", required=True)
    ap.add_argument("--secret-key", required=True)
    ap.add_argument("command", choices=["create-bucket", "list-uploads"])
    ap.add_argument("bucket")
    a = ap.parse_args()
    if a.command == "create-bucket":
        status, body = request(a.endpoint, a.access_key, a.secret_key, "PUT", "/" + a.bucket)
        print(status)
        sys.exit(0 if status == 200 else 1)
    status, body = request(a.endpoint, a.access_key, a.secret_key, "GET", "/" + a.bucket,
                           "uploads=")
    if status != 200:
        print("list-uploads: %d %s" % (status, body[:200]), file=sys.stderr)
        sys.exit(1)
    print(len(re.findall(rb"<Upload>", body)))


if __name__ == "__main__":
    main()
