import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { RemoteStore } from './remote-store.ts';

/**
 * Where an `s3://bucket/prefix` store is: the bucket and prefix from the URL, the endpoint from
 * `?endpoint=` or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (MinIO and the like; AWS itself when
 * none), the region from `?region=` or AWS_REGION (else us-east-1). Credentials come from the AWS
 * SDK's usual chain (AWS_ACCESS_KEY_ID…, ~/.aws, instance roles).
 */
export interface S3Location {
  bucket: string;
  prefix: string;
  endpoint?: string;
  region: string;
}

export function parseS3Url(url: string, env: NodeJS.ProcessEnv = process.env): S3Location {
  const parsed = new URL(url);
  if (parsed.protocol !== 's3:' || !parsed.hostname) throw new Error(`${url}: expected s3://bucket/prefix`);
  const endpoint =
    parsed.searchParams.get('endpoint') ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ?? undefined;
  return {
    bucket: parsed.hostname,
    prefix: decodeURIComponent(parsed.pathname).replace(/^\/+|\/+$/g, ''),
    ...(endpoint ? { endpoint } : {}),
    region: parsed.searchParams.get('region') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
  };
}

function isNotFound(error: unknown): boolean {
  return (
    error instanceof NotFound ||
    error instanceof NoSuchKey ||
    (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404)
  );
}

/**
 * A store in an S3 bucket (or any S3-compatible object storage). A PUT is atomic by S3's own
 * guarantee (a reader gets the old object or the new one, never part), and S3 is strongly
 * consistent for reads after writes and for listings, which is all SharedStore needs.
 */
export class S3RemoteStore implements RemoteStore {
  private readonly client: S3Client;

  constructor(
    readonly url: string,
    readonly location: S3Location,
  ) {
    this.client = new S3Client({
      region: location.region,
      ...(location.endpoint ? { endpoint: location.endpoint, forcePathStyle: true } : {}),
      // Checksums only where S3 requires them: servers that predate the flexible-checksum protocol
      // (MinIO releases, local test servers) reject its chunked uploads, and every object is
      // verified by its sha256 on fetch anyway.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private key(name: string): string {
    return this.location.prefix ? `${this.location.prefix}/${name}` : name;
  }

  async size(name: string): Promise<number | undefined> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.location.bucket, Key: this.key(name) }),
      );
      return head.ContentLength;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async get(name: string) {
    try {
      return await this.client.send(
        new GetObjectCommand({ Bucket: this.location.bucket, Key: this.key(name) }),
      );
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async read(name: string): Promise<Uint8Array | undefined> {
    const object = await this.get(name);
    return object?.Body ? await object.Body.transformToByteArray() : undefined;
  }

  async readStream(name: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    const object = await this.get(name);
    // In Node the body is a Readable: an async iterable of Buffers.
    return object?.Body as AsyncIterable<Uint8Array> | undefined;
  }

  async write(name: string, body: Uint8Array | string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.location.bucket, Key: this.key(name), Body: body }),
    );
  }

  async writeFile(name: string, file: string): Promise<void> {
    const { size } = await fs.stat(file);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.location.bucket,
        Key: this.key(name),
        Body: createReadStream(file),
        ContentLength: size,
      }),
    );
  }

  async remove(name: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: this.key(name) }));
  }

  async list(prefix: string): Promise<string[]> {
    const names: string[] = [];
    const strip = this.location.prefix ? this.location.prefix.length + 1 : 0;
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.location.bucket,
          Prefix: this.key(prefix),
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) if (object.Key) names.push(object.Key.slice(strip));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return names;
  }

  close(): void {
    this.client.destroy();
  }
}
