// Result files: the PNGs are valid PNG files (chunk CRCs, IHDR, inflatable
// scanlines) that differ per task, and videos are well-formed MP4 boxes.
import { crc32 as zlibCrc32, inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32, encodePng, gradientPng } from '../../src/simulator/png.ts';
import type { SimulatorHandle } from '../../src/simulator/server.ts';
import type { UpstreamClient } from '../../src/upstream/client.ts';
import { clientFor, startTestSimulator } from '../upstream/helpers.ts';

let sim: SimulatorHandle;
let client: UpstreamClient;

beforeAll(async () => {
  sim = await startTestSimulator();
  client = clientFor(sim);
});
afterAll(async () => {
  await client.close();
  await sim.stop();
});

interface Png {
  width: number;
  height: number;
  pixels: Buffer;
}

/** An independent PNG reader: fails loudly on anything a browser would reject. */
function readPng(file: Buffer): Png {
  expect([...file.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let offset = 8;
  const types: string[] = [];
  const idat: Buffer[] = [];
  let width = 0;
  let height = 0;
  while (offset < file.length) {
    const length = file.readUInt32BE(offset);
    const type = file.toString('ascii', offset + 4, offset + 8);
    const data = file.subarray(offset + 8, offset + 8 + length);
    expect(file.readUInt32BE(offset + 8 + length)).toBe(zlibCrc32(file.subarray(offset + 4, offset + 8 + length)));
    types.push(type);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([...data.subarray(8)]).toEqual([8, 2, 0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  expect(offset).toBe(file.length);
  expect(types[0]).toBe('IHDR');
  expect(types.at(-1)).toBe('IEND');
  const pixels = inflateSync(Buffer.concat(idat));
  expect(pixels.length).toBe((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) expect(pixels[y * (width * 3 + 1)]).toBe(0);
  return { width, height, pixels };
}

async function fetchResult(model: 'grok-imagine/text-to-image' | 'grok-imagine/text-to-video', prompt = 'p') {
  const { taskId } = await client.generate(model, { prompt });
  sim.completeNow(taskId, 'SUCCESS');
  const record = await client.status(taskId);
  const url = record.resultUrls[0] ?? '';
  expect(url.startsWith(sim.origin)).toBe(true);
  const res = await fetch(url);
  return { taskId, res, body: Buffer.from(await res.arrayBuffer()) };
}

describe('PNG results', () => {
  it('are valid PNG files, 64x64, served as image/png', async () => {
    const { res, body } = await fetchResult('grok-imagine/text-to-image');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const png = readPng(body);
    expect([png.width, png.height]).toEqual([64, 64]);
  });

  it('differ per task, and an upscale is twice the size', async () => {
    const a = await fetchResult('grok-imagine/text-to-image', 'a');
    const b = await fetchResult('grok-imagine/text-to-image', 'b');
    expect(a.body.equals(b.body)).toBe(false);
    const up = await client.generate('grok-imagine/upscale', { taskId: a.taskId });
    sim.completeNow(up.taskId, 'SUCCESS');
    const res = await fetch((await client.status(up.taskId)).resultUrls[0] ?? '');
    expect(readPng(Buffer.from(await res.arrayBuffer())).width).toBe(128);
  });

  it('encodes exactly the pixels asked for', () => {
    const png = readPng(encodePng(3, 2, (x, y) => [x * 10, y * 20, 255]));
    expect([...png.pixels]).toEqual([0, 0, 0, 255, 10, 0, 255, 20, 0, 255, 0, 0, 20, 255, 10, 20, 255, 20, 20, 255]);
    expect(gradientPng('same', 8).equals(gradientPng('same', 8))).toBe(true);
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('404 for unknown tasks, unfinished tasks and the wrong extension', async () => {
    sim.configure({ latencyMs: 10_000 });
    const { taskId } = await client.generate('grok-imagine/text-to-image', { prompt: 'slow' });
    sim.configure({ latencyMs: '20-60' });
    for (const path of [`/files/${taskId}/0.png`, '/files/nope/0.png', `/files/${taskId}/0.mp4`, '/files/../etc/passwd']) {
      expect((await fetch(sim.origin + path)).status).toBe(404);
    }
  });
});

describe('video results', () => {
  it('are MP4 files with ftyp, moov and an mdat that holds every sample', async () => {
    const { res, body } = await fetchResult('grok-imagine/text-to-video');
    expect(res.headers.get('content-type')).toBe('video/mp4');
    const boxes: Array<{ type: string; start: number; size: number }> = [];
    for (let offset = 0; offset < body.length; ) {
      const size = body.readUInt32BE(offset);
      boxes.push({ type: body.toString('ascii', offset + 4, offset + 8), start: offset, size });
      expect(size).toBeGreaterThanOrEqual(8);
      offset += size;
      if (offset === body.length) break;
      expect(offset).toBeLessThan(body.length);
    }
    expect(boxes.map((b) => b.type)).toEqual(['ftyp', 'moov', 'mdat']);
    const mdat = boxes[2];
    const stco = body.indexOf('stco');
    const chunkOffset = body.readUInt32BE(stco + 12);
    expect(chunkOffset).toBe((mdat?.start ?? 0) + 8);
    const stsz = body.indexOf('stsz');
    const count = body.readUInt32BE(stsz + 12);
    let total = 0;
    for (let i = 0; i < count; i++) total += body.readUInt32BE(stsz + 16 + i * 4);
    expect(total).toBe((mdat?.size ?? 0) - 8);
    // The first sample is a length-prefixed IDR slice NAL unit.
    expect((body[chunkOffset + 4] ?? 0) & 0x1f).toBe(5);
    expect(body.indexOf('avcC')).toBeGreaterThan(0);
  });
});
