#!/usr/bin/env python3
"""Builds a test image as an OCI layout from random bytes (nothing pulled from anywhere).
Usage: mkimage.py DIR --layers BYTES[,BYTES...] [--seed N] [--tag TAG]
Prints a JSON summary: manifest digest, config digest, [layer digest, size]..."""
import argparse
import gzip
import hashlib
import io
import json
import os
import random
import tarfile
import time


def blob(root, data):
    d = hashlib.sha256(data).hexdigest()
    path = os.path.join(root, "blobs", "sha256", d)
    with open(path, "wb") as f:
        f.write(data)
    return "sha256:" + d


def layer(rng, size, index):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("lab/layer-%d.bin" % index)
        info.size = size
        info.mtime = 0
        tar.addfile(info, io.BytesIO(rng.randbytes(size)))
    tar_bytes = raw.getvalue()
    gz = gzip.compress(tar_bytes, compresslevel=1, mtime=0)
    return tar_bytes, gz


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--layers", required=True, help="uncompressed sizes, comma-separated")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--tag", default="latest")
    a = ap.parse_args()
    rng = random.Random(a.seed if a.seed is not None else time.time_ns())
    os.makedirs(os.path.join(a.dir, "blobs", "sha256"), exist_ok=True)
    layers, diff_ids = [], []
    for i, size in enumerate(int(s) for s in a.layers.split(",")):
        tar_bytes, gz = layer(rng, size, i)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": blob(a.dir, gz), "size": len(gz)})
        diff_ids.append("sha256:" + hashlib.sha256(tar_bytes).hexdigest())
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Labels": {"lab.nonce": "%x" % rng.getrandbits(64)}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "registry-rca lab"} for _ in diff_ids],
    }, sort_keys=True).encode()
    cfg = {"mediaType": "application/vnd.oci.image.config.v1+json",
           "digest": blob(a.dir, config), "size": len(config)}
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": cfg, "layers": layers}, sort_keys=True).encode()
    mdigest = blob(a.dir, manifest)
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest,
        "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": a.tag}}]}
    with open(os.path.join(a.dir, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(a.dir, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    print(json.dumps({"manifest": mdigest, "config": cfg["digest"],
                      "layers": [[l["digest"], l["size"]] for l in layers]}))


if __name__ == "__main__":
    main()
