// The AWS SDK for JavaScript v3 against a node: puts (aws-chunked with a
// CRC32 trailer, as the SDK sends by default), gets, lists, deletes.
// Usage: node s3_sdk.mjs ENDPOINT AK SK BUCKET FILE...
// Prints one JSON line: {"etags": {...}, "got": {name: sha256}, "keys": [...]}
import { createHash } from "node:crypto";
import { createReadStream, readFileSync, statSync } from "node:fs";
import { basename } from "node:path";
import {
  S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand,
  ListObjectsV2Command, DeleteObjectCommand, HeadObjectCommand,
} from "@aws-sdk/client-s3";

const [endpoint, ak, sk, bucket, ...files] = process.argv.slice(2);
const c = new S3Client({
  endpoint, region: "us-east-1", forcePathStyle: true,
  credentials: { accessKeyId: ak, secretAccessKey: sk },
  maxAttempts: 1,
});
const out = { etags: {}, got: {}, keys: [], checksum: {} };
await c.send(new CreateBucketCommand({ Bucket: bucket }));
// A stream body goes out as aws-chunked with a CRC32 trailer, inside
// Transfer-Encoding: chunked; a buffer as it is, the checksum in a header.
let stream = true;
for (const f of files) {
  const body = stream ? createReadStream(f) : readFileSync(f);
  const r = await c.send(new PutObjectCommand({
    Bucket: bucket, Key: "js/" + basename(f), Body: body,
    ContentLength: statSync(f).size, ChecksumAlgorithm: "CRC32",
  }));
  stream = !stream;
  out.etags[basename(f)] = r.ETag;
}
for (const f of files) {
  const r = await c.send(new GetObjectCommand({
    Bucket: bucket, Key: "js/" + basename(f),
  }));
  const b = Buffer.from(await r.Body.transformToByteArray());
  out.got[basename(f)] = createHash("sha256").update(b).digest("hex");
}
const l = await c.send(new ListObjectsV2Command({ Bucket: bucket }));
out.keys = (l.Contents || []).map((o) => o.Key);
const h = await c.send(new HeadObjectCommand({
  Bucket: bucket, Key: "js/" + basename(files[0]),
}));
out.head_etag = h.ETag;
await c.send(new DeleteObjectCommand({
  Bucket: bucket, Key: "js/" + basename(files[0]),
}));
console.log(JSON.stringify(out));
