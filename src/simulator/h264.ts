// A deliberately trivial H.264 encoder: Baseline profile, every frame an IDR
// picture whose macroblocks are all I_PCM (raw samples, no prediction or
// transform). Big per pixel, but valid and tiny at the sizes the simulator
// serves, and it needs no codec library.

class BitWriter {
  private readonly bytes: number[] = [];
  private current = 0;
  private used = 0;

  bit(b: number): void {
    this.current = (this.current << 1) | (b & 1);
    if (++this.used === 8) {
      this.bytes.push(this.current);
      this.current = 0;
      this.used = 0;
    }
  }

  bits(value: number, count: number): void {
    for (let i = count - 1; i >= 0; i--) this.bit((value >>> i) & 1);
  }

  /** Exp-Golomb unsigned. */
  ue(value: number): void {
    const v = value + 1;
    const len = Math.floor(Math.log2(v));
    this.bits(0, len);
    this.bits(v, len + 1);
  }

  /** Exp-Golomb signed. */
  se(value: number): void {
    this.ue(value <= 0 ? -2 * value : 2 * value - 1);
  }

  alignZero(): void {
    while (this.used !== 0) this.bit(0);
  }

  byte(value: number): void {
    this.bits(value, 8);
  }

  /** rbsp_trailing_bits: a stop bit, then zeros to the byte boundary. */
  trailing(): Buffer {
    this.bit(1);
    this.alignZero();
    return Buffer.from(this.bytes);
  }
}

/** Wraps an RBSP in a NAL unit, inserting emulation-prevention bytes. */
function nal(refIdc: number, type: number, rbsp: Buffer): Buffer {
  const out: number[] = [(refIdc << 5) | type];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Buffer.from(out);
}

export function spsNal(width: number, height: number): Buffer {
  const w = new BitWriter();
  w.byte(66); // profile_idc: Baseline
  w.byte(0xc0); // constraint_set0/1: decodable by Baseline and Main decoders
  w.byte(30); // level_idc 3.0
  w.ue(0); // seq_parameter_set_id
  w.ue(0); // log2_max_frame_num_minus4
  w.ue(2); // pic_order_cnt_type 2: output order = decoding order
  w.ue(1); // max_num_ref_frames
  w.bit(0); // gaps_in_frame_num_value_allowed_flag
  w.ue(width / 16 - 1);
  w.ue(height / 16 - 1);
  w.bit(1); // frame_mbs_only_flag
  w.bit(1); // direct_8x8_inference_flag
  w.bit(0); // frame_cropping_flag
  w.bit(0); // vui_parameters_present_flag
  return nal(3, 7, w.trailing());
}

export function ppsNal(): Buffer {
  const w = new BitWriter();
  w.ue(0); // pic_parameter_set_id
  w.ue(0); // seq_parameter_set_id
  w.bit(0); // entropy_coding_mode_flag: CAVLC
  w.bit(0); // bottom_field_pic_order_in_frame_present_flag
  w.ue(0); // num_slice_groups_minus1
  w.ue(0); // num_ref_idx_l0_default_active_minus1
  w.ue(0); // num_ref_idx_l1_default_active_minus1
  w.bit(0); // weighted_pred_flag
  w.bits(0, 2); // weighted_bipred_idc
  w.se(0); // pic_init_qp_minus26
  w.se(0); // pic_init_qs_minus26
  w.se(0); // chroma_qp_index_offset
  w.bit(0); // deblocking_filter_control_present_flag
  w.bit(0); // constrained_intra_pred_flag
  w.bit(0); // redundant_pic_cnt_present_flag
  return nal(3, 8, w.trailing());
}

/** A YUV 4:2:0 frame: `y` is width*height, `u` and `v` are (width/2)*(height/2). */
export interface YuvFrame {
  y: Uint8Array;
  u: Uint8Array;
  v: Uint8Array;
}

/** One IDR slice covering the whole picture; `idrPicId` must differ between consecutive IDRs. */
export function idrSliceNal(frame: YuvFrame, width: number, height: number, idrPicId: number): Buffer {
  const w = new BitWriter();
  w.ue(0); // first_mb_in_slice
  w.ue(7); // slice_type: I (all slices of the picture)
  w.ue(0); // pic_parameter_set_id
  w.bits(0, 4); // frame_num (log2_max_frame_num = 4); 0 for IDR
  w.ue(idrPicId);
  w.bit(0); // no_output_of_prior_pics_flag
  w.bit(0); // long_term_reference_flag
  w.se(0); // slice_qp_delta
  const mbWidth = width / 16;
  const mbHeight = height / 16;
  const cw = width / 2;
  for (let mby = 0; mby < mbHeight; mby++) {
    for (let mbx = 0; mbx < mbWidth; mbx++) {
      w.ue(25); // mb_type: I_PCM
      w.alignZero(); // pcm_alignment_zero_bit
      for (let y = 0; y < 16; y++) {
        for (let x = 0; x < 16; x++) w.byte(frame.y[(mby * 16 + y) * width + mbx * 16 + x] ?? 128);
      }
      for (const plane of [frame.u, frame.v]) {
        for (let y = 0; y < 8; y++) {
          for (let x = 0; x < 8; x++) w.byte(plane[(mby * 8 + y) * cw + mbx * 8 + x] ?? 128);
        }
      }
    }
  }
  return nal(3, 5, w.trailing());
}

/** BT.601 limited-range conversion; samples kept in 16..240 so no PCM byte is 0. */
export function rgbToYuv(r: number, g: number, b: number): [number, number, number] {
  const y = 16 + (65.738 * r + 129.057 * g + 25.064 * b) / 256;
  const u = 128 + (-37.945 * r - 74.494 * g + 112.439 * b) / 256;
  const v = 128 + (112.439 * r - 94.154 * g - 18.285 * b) / 256;
  const clamp = (n: number) => Math.min(240, Math.max(16, Math.round(n)));
  return [clamp(y), clamp(u), clamp(v)];
}
