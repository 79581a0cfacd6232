// A tiny MP4 (ISO BMFF, moov before mdat) holding the I_PCM H.264 frames of
// h264.ts, so video results play in a browser's <video> element.
import { idrSliceNal, ppsNal, rgbToYuv, spsNal, type YuvFrame } from './h264.ts';
import { paletteFor } from './rng.ts';

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length + 8, 0);
  head.write(type, 4, 'ascii');
  return Buffer.concat([head, body]);
}

function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  const vf = Buffer.alloc(4);
  vf.writeUInt32BE(((version & 0xff) << 24) | (flags & 0xffffff), 0);
  return box(type, vf, ...payload);
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

function u16(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16BE(v & 0xffff, i * 2));
  return b;
}

const UNITY_MATRIX = u32(0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000);

function avcC(sps: Buffer, pps: Buffer): Buffer {
  return box(
    'avcC',
    Buffer.from([1, sps[1] ?? 66, sps[2] ?? 0, sps[3] ?? 30, 0xff, 0xe1]), // 4-byte NAL lengths, 1 SPS
    u16(sps.length),
    sps,
    Buffer.from([1]),
    u16(pps.length),
    pps,
  );
}

interface TrackLayout {
  width: number;
  height: number;
  timescale: number;
  sampleDelta: number;
  sampleSizes: number[];
  chunkOffset: number;
  sps: Buffer;
  pps: Buffer;
}

function moov(t: TrackLayout): Buffer {
  const duration = t.sampleDelta * t.sampleSizes.length;
  const n = t.sampleSizes.length;
  const avc1 = box(
    'avc1',
    Buffer.alloc(6), // reserved
    u16(1), // data_reference_index
    Buffer.alloc(16), // pre_defined and reserved
    u16(t.width, t.height),
    u32(0x00480000, 0x00480000, 0), // 72 dpi, reserved
    u16(1), // frame_count
    Buffer.alloc(32), // compressorname
    u16(0x0018, 0xffff), // depth, pre_defined -1
    avcC(t.sps, t.pps),
  );
  const stbl = box(
    'stbl',
    fullBox('stsd', 0, 0, u32(1), avc1),
    fullBox('stts', 0, 0, u32(1, n, t.sampleDelta)),
    fullBox('stsc', 0, 0, u32(1, 1, n, 1)),
    fullBox('stsz', 0, 0, u32(0, n, ...t.sampleSizes)),
    fullBox('stco', 0, 0, u32(1, t.chunkOffset)),
  );
  const minf = box(
    'minf',
    fullBox('vmhd', 0, 1, u16(0, 0, 0, 0)),
    box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1))),
    stbl,
  );
  const mdia = box(
    'mdia',
    fullBox('mdhd', 0, 0, u32(0, 0, t.timescale, duration), u16(0x55c4, 0)), // language "und"
    fullBox('hdlr', 0, 0, u32(0), Buffer.from('vide', 'ascii'), u32(0, 0, 0), Buffer.from('VideoHandler\0', 'ascii')),
    minf,
  );
  const tkhd = fullBox(
    'tkhd',
    0,
    3, // enabled, in movie
    u32(0, 0, 1, 0, duration, 0, 0), // times, track_ID 1, reserved, duration, reserved
    u16(0, 0, 0, 0), // layer, alternate_group, volume, reserved
    UNITY_MATRIX,
    u32(t.width << 16, t.height << 16),
  );
  const mvhd = fullBox(
    'mvhd',
    0,
    0,
    u32(0, 0, t.timescale, duration, 0x00010000), // times, timescale, duration, rate 1.0
    u16(0x0100, 0), // volume 1.0, reserved
    u32(0, 0), // reserved
    UNITY_MATRIX,
    Buffer.alloc(24), // pre_defined
    u32(2), // next_track_ID
  );
  return box('moov', mvhd, box('trak', tkhd, mdia));
}

/** Encodes frames (all the same size, multiples of 16) at `fps` into an MP4 file. */
export function encodeMp4(frames: YuvFrame[], width: number, height: number, fps: number): Buffer {
  const sps = spsNal(width, height);
  const pps = ppsNal();
  const samples = frames.map((f, i) => {
    const slice = idrSliceNal(f, width, height, i % 2);
    return Buffer.concat([u32(slice.length), slice]);
  });
  const ftyp = box('ftyp', Buffer.from('isom', 'ascii'), u32(0x200), Buffer.from('isomiso2avc1mp41', 'ascii'));
  const layout: TrackLayout = {
    width,
    height,
    timescale: fps * 100,
    sampleDelta: 100,
    sampleSizes: samples.map((s) => s.length),
    chunkOffset: 0,
    sps,
    pps,
  };
  // moov's size does not depend on the offset value, so measure once and fill in.
  layout.chunkOffset = ftyp.length + moov(layout).length + 8;
  return Buffer.concat([ftyp, moov(layout), box('mdat', ...samples)]);
}

/** A short clip of the task's gradient sliding diagonally, so each task's video differs. */
export function gradientMp4(taskId: string, size = 32, frameCount = 12, fps = 6): Buffer {
  const { from, to } = paletteFor(taskId);
  const frames: YuvFrame[] = [];
  const half = size / 2;
  for (let f = 0; f < frameCount; f++) {
    const y = new Uint8Array(size * size);
    const u = new Uint8Array(half * half);
    const v = new Uint8Array(half * half);
    const colour = (px: number, py: number): [number, number, number] => {
      const t = (((px + py) / (2 * size) + f / frameCount) % 1 + 1) % 1;
      const tri = t < 0.5 ? t * 2 : 2 - t * 2; // there and back, so the loop has no seam
      const mix = (i: 0 | 1 | 2) => from[i] + (to[i] - from[i]) * tri;
      return rgbToYuv(mix(0), mix(1), mix(2));
    };
    for (let py = 0; py < size; py++) {
      for (let px = 0; px < size; px++) y[py * size + px] = colour(px, py)[0];
    }
    for (let py = 0; py < half; py++) {
      for (let px = 0; px < half; px++) {
        const [, cb, cr] = colour(px * 2 + 0.5, py * 2 + 0.5);
        u[py * half + px] = cb;
        v[py * half + px] = cr;
      }
    }
    frames.push({ y, u, v });
  }
  return encodeMp4(frames, size, size, fps);
}
