// The one source of every reduce kernel: WAT text generated per dtype and op,
// with or without SIMD. generate_kernels.mjs turns it into the shipped
// binaries; the runtime never needs a compiler.
//
// Every kernel has the signature
//   reduce_<op>_<dtype>(dst, table, nsrc, count, divisor, flags)
// and computes dst[i] = src0[i] op src1[i] op ... op src{nsrc-1}[i], sources
// in table order (deterministic), with the pointers read from `table` (i32s
// in memory). float16/bfloat16 accumulate in float32 and round once; flags
// bit 0 says src0 is a float32 partial and bit 1 that dst is float32, which
// lets ring and tree carry low-precision partials in float32. divisor != 1
// divides the result (avg): floats exactly, integers truncating.

export const DTYPES = ['float32', 'float64', 'float16', 'bfloat16', 'int8', 'uint8', 'int32', 'uint32', 'int64'];
export const OPS = ['sum', 'prod', 'min', 'max'];

const T = {
  float32: { size: 4, lanes: 4, cls: 'float', acc: 'f32', v: 'f32x4' },
  float64: { size: 8, lanes: 2, cls: 'float', acc: 'f64', v: 'f64x2' },
  float16: { size: 2, lanes: 4, cls: 'lowp', acc: 'f32', v: 'f32x4' },
  bfloat16: { size: 2, lanes: 4, cls: 'lowp', acc: 'f32', v: 'f32x4' },
  int8: { size: 1, lanes: 16, cls: 'int', acc: 'i32', v: 'i8x16', signed: true },
  uint8: { size: 1, lanes: 16, cls: 'int', acc: 'i32', v: 'i8x16', signed: false },
  int32: { size: 4, lanes: 4, cls: 'int', acc: 'i32', v: 'i32x4', signed: true },
  uint32: { size: 4, lanes: 4, cls: 'int', acc: 'i32', v: 'i32x4', signed: false },
  int64: { size: 8, lanes: 2, cls: 'int', acc: 'i64', v: 'i64x2', signed: true },
};

const SHIFT = { 1: 0, 2: 1, 4: 2, 8: 3 };
const addr = (base, size) => `(i32.add ${base} (i32.shl (local.get $i) (i32.const ${SHIFT[size]})))`;
const srcPtr = (k) => `(i32.load (i32.add (local.get $tab) (i32.shl ${k} (i32.const 2))))`;

// ---- scalar pieces -------------------------------------------------------

function sLoad(dt, ptr, asF32) {
  const t = T[dt];
  if (asF32) return `(f32.load ${ptr})`;
  switch (dt) {
    case 'float32': return `(f32.load ${ptr})`;
    case 'float64': return `(f64.load ${ptr})`;
    case 'float16': return `(call $h2f (i32.load16_u ${ptr}))`;
    case 'bfloat16': return `(f32.reinterpret_i32 (i32.shl (i32.load16_u ${ptr}) (i32.const 16)))`;
    case 'int8': return `(i32.load8_s ${ptr})`;
    case 'uint8': return `(i32.load8_u ${ptr})`;
    case 'int64': return `(i64.load ${ptr})`;
    default: return `(${t.acc}.load ${ptr})`;
  }
}

// WebAssembly leaves the sign and payload of a NaN result open, and SIMD
// and scalar instructions pick differently; every float store writes the
// canonical quiet NaN so results are the same bytes on every path.
// Inlined (V8 does not inline wasm calls here), through a tee'd local.
const sCanon = (t, val) => `(select (${t}.const nan) (local.tee $cs ${val}) (${t}.ne (local.get $cs) (local.get $cs)))`;
const vCanon = (t, val) =>
  t === 'f32'
    ? `(v128.bitselect (v128.const i32x4 0x7fc00000 0x7fc00000 0x7fc00000 0x7fc00000) (local.tee $cv ${val}) (f32x4.ne (local.get $cv) (local.get $cv)))`
    : `(v128.bitselect (v128.const i64x2 0x7ff8000000000000 0x7ff8000000000000) (local.tee $cv ${val}) (f64x2.ne (local.get $cv) (local.get $cv)))`;

function sStore(dt, ptr, rawVal, asF32) {
  const val = T[dt].cls === 'int' ? rawVal : sCanon(T[dt].acc, rawVal);
  if (asF32) return `(f32.store ${ptr} ${val})`;
  switch (dt) {
    case 'float32': return `(f32.store ${ptr} ${val})`;
    case 'float64': return `(f64.store ${ptr} ${val})`;
    case 'float16': return `(i32.store16 ${ptr} (call $f2h ${val}))`;
    case 'bfloat16': return `(i32.store16 ${ptr} (call $f2bf ${val}))`;
    case 'int8':
    case 'uint8': return `(i32.store8 ${ptr} ${val})`;
    case 'int64': return `(i64.store ${ptr} ${val})`;
    default: return `(i32.store ${ptr} ${val})`;
  }
}

/** acc = acc op x, with x in local $x */
function sOp(dt, op) {
  const t = T[dt];
  const a = t.acc;
  if (op === 'sum') return `(local.set $acc (${a}.add (local.get $acc) (local.get $x)))`;
  if (op === 'prod') return `(local.set $acc (${a}.mul (local.get $acc) (local.get $x)))`;
  if (t.cls !== 'int') return `(local.set $acc (${a}.${op} (local.get $acc) (local.get $x)))`;
  const lt = `${a}.lt_${t.signed ? 's' : 'u'}`;
  // min keeps acc where acc < x; max keeps acc where x < acc.
  const cond = op === 'min' ? `(${lt} (local.get $acc) (local.get $x))` : `(${lt} (local.get $x) (local.get $acc))`;
  return `(local.set $acc (select (local.get $acc) (local.get $x) ${cond}))`;
}

function sDivFloat(dt) {
  const a = T[dt].acc;
  return `(local.set $acc (${a}.div (local.get $acc) (${a}.convert_i32_u (local.get $div))))`;
}

// ---- SIMD pieces -----------------------------------------------------------

function vLoad(dt, ptr, asF32) {
  if (asF32) return `(v128.load align=1 ${ptr})`;
  if (dt === 'float16') return `(call $h2f_v (i32x4.extend_low_i16x8_u (v128.load64_zero align=1 ${ptr})))`;
  if (dt === 'bfloat16') return `(i32x4.shl (i32x4.extend_low_i16x8_u (v128.load64_zero align=1 ${ptr})) (i32.const 16))`;
  return `(v128.load align=1 ${ptr})`;
}

function vStore(dt, ptr, rawVal, asF32) {
  const val = T[dt].cls === 'int' ? rawVal : vCanon(T[dt].acc, rawVal);
  if (asF32 || T[dt].cls !== 'lowp') return `(v128.store align=1 ${ptr} ${val})`;
  const conv = dt === 'float16' ? `(call $f2h_v ${val})` : `(call $f2bf_v ${val})`;
  return `(i64.store align=1 ${ptr} (i64x2.extract_lane 0 (i16x8.narrow_i32x4_u ${conv} (v128.const i32x4 0 0 0 0))))`;
}

function vOpExpr(dt, op, a, b) {
  const t = T[dt];
  const v = t.v;
  if (op === 'sum') return `(${v}.add ${a} ${b})`;
  if (t.cls !== 'int') return `(${v}.${op === 'prod' ? 'mul' : op} ${a} ${b})`;
  if (op === 'prod') {
    if (v === 'i8x16') {
      const ext = t.signed ? 's' : 'u';
      return `(i8x16.shuffle 0 2 4 6 8 10 12 14 16 18 20 22 24 26 28 30 (i16x8.extmul_low_i8x16_${ext} ${a} ${b}) (i16x8.extmul_high_i8x16_${ext} ${a} ${b}))`;
    }
    return `(${v}.mul ${a} ${b})`;
  }
  if (v === 'i64x2') {
    // No i64x2.min/max: select lanes by comparison.
    return op === 'min' ? `(v128.bitselect ${a} ${b} (i64x2.lt_s ${a} ${b}))` : `(v128.bitselect ${a} ${b} (i64x2.gt_s ${a} ${b}))`;
  }
  return `(${v}.${op}_${t.signed ? 's' : 'u'} ${a} ${b})`;
}

function vOp(dt, op) {
  return `(local.set $vacc ${vOpExpr(dt, op, '(local.get $vacc)', '(local.get $vx)')})`;
}

// ---- kernel body -------------------------------------------------------------

/**
 * float16/bfloat16: eight elements per iteration (one 16-byte load per
 * source, widened into two float32 vectors), accumulated in float32 and
 * narrowed back once. flags may make src0 and dst float32 partials.
 */
function lowpVectorLoop(dt, op, f0, fd) {
  const toF = (x) => (dt === 'float16' ? `(call $h2f_v ${x})` : `(i32x4.shl ${x} (i32.const 16))`);
  const fromF = (x) => (dt === 'float16' ? `(call $f2h_v ${vCanon('f32', x)})` : `(call $f2bf_v ${vCanon('f32', x)})`);
  const load0 = f0
    ? `(local.set $vacc (v128.load align=1 ${addr('(local.get $s0)', 4)}))
       (local.set $vacc2 (v128.load offset=16 align=1 ${addr('(local.get $s0)', 4)}))`
    : `(local.set $vraw (v128.load align=1 ${addr('(local.get $s0)', 2)}))
       (local.set $vacc ${toF('(i32x4.extend_low_i16x8_u (local.get $vraw))')})
       (local.set $vacc2 ${toF('(i32x4.extend_high_i16x8_u (local.get $vraw))')})`;
  const div = (v) => `(local.set ${v} (f32x4.div (local.get ${v}) (f32x4.splat (f32.convert_i32_u (local.get $div)))))`;
  const store = fd
    ? `(v128.store align=1 ${addr('(local.get $dst)', 4)} ${vCanon('f32', '(local.get $vacc)')})
       (v128.store offset=16 align=1 ${addr('(local.get $dst)', 4)} ${vCanon('f32', '(local.get $vacc2)')})`
    : `(v128.store align=1 ${addr('(local.get $dst)', 2)} (i16x8.narrow_i32x4_u ${fromF('(local.get $vacc)')} ${fromF('(local.get $vacc2)')}))`;
  return `
    (local.set $vend (i32.sub (local.get $count) (i32.rem_u (local.get $count) (i32.const 8))))
    (local.set $s0 ${srcPtr('(i32.const 0)')})
    (block $vb (loop $vl
      (br_if $vb (i32.ge_u (local.get $i) (local.get $vend)))
      ${load0}
      (local.set $k (i32.const 1))
      (block $kb (loop $kl
        (br_if $kb (i32.ge_u (local.get $k) (local.get $n)))
        (local.set $vraw (v128.load align=1 ${addr(srcPtr('(local.get $k)'), 2)}))
        (local.set $vacc ${vOpExpr(dt, op, '(local.get $vacc)', toF('(i32x4.extend_low_i16x8_u (local.get $vraw))'))})
        (local.set $vacc2 ${vOpExpr(dt, op, '(local.get $vacc2)', toF('(i32x4.extend_high_i16x8_u (local.get $vraw))'))})
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $kl)))
      (if (i32.ne (local.get $div) (i32.const 1)) (then ${div('$vacc')} ${div('$vacc2')}))
      ${store}
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br $vl)))`;
}

function body(dt, op, simd, f0, fd) {
  const t = T[dt];
  const s0 = f0 ? 4 : t.size;
  const sd = fd ? 4 : t.size;
  const lanes = t.lanes;
  const floatDiv = t.cls !== 'int';
  const out = [];
  if (simd) {
    if (!f0 && !fd && t.cls !== 'lowp') {
      // Two sources, no division: the hot path of two-device all-reduce.
      // Pointer-bumped and unrolled four vectors deep so the loop is bound
      // by memory, not by address arithmetic.
      const step = (off) => {
        const ld = (p) => `(v128.load offset=${off} align=1 (local.get ${p}))`;
        return vStore(dt, `(local.get $pd) offset`, vOpExpr(dt, op, ld('$s0'), ld('$s1')), false).replace('(local.get $pd) offset', '').replace('(v128.store align=1 ', `(v128.store offset=${off} align=1 (local.get $pd)`);
      };
      out.push(`
    (if (i32.and (i32.eq (local.get $n) (i32.const 2)) (i32.eq (local.get $div) (i32.const 1))) (then
      (local.set $s0 ${srcPtr('(i32.const 0)')})
      (local.set $s1 ${srcPtr('(i32.const 1)')})
      (local.set $pd (local.get $dst))
      (local.set $i (i32.and (local.get $count) (i32.const ${~(4 * lanes - 1)})))
      (local.set $pend (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const ${SHIFT[t.size]}))))
      (block $fb (loop $fl
        (br_if $fb (i32.ge_u (local.get $pd) (local.get $pend)))
        ${step(0)}
        ${step(16)}
        ${step(32)}
        ${step(48)}
        (local.set $pd (i32.add (local.get $pd) (i32.const 64)))
        (local.set $s0 (i32.add (local.get $s0) (i32.const 64)))
        (local.set $s1 (i32.add (local.get $s1) (i32.const 64)))
        (br $fl)))))`);
    }
    if (t.cls === 'lowp') {
      out.push(lowpVectorLoop(dt, op, f0, fd));
    } else {
    out.push(`
      (local.set $vend (i32.sub (local.get $count) (i32.rem_u (local.get $count) (i32.const ${lanes}))))
      (local.set $s0 ${srcPtr('(i32.const 0)')})
      (block $vb (loop $vl
        (br_if $vb (i32.ge_u (local.get $i) (local.get $vend)))
        (local.set $vacc ${vLoad(dt, addr('(local.get $s0)', s0), f0)})
        (local.set $k (i32.const 1))
        (block $kb (loop $kl
          (br_if $kb (i32.ge_u (local.get $k) (local.get $n)))
          (local.set $vx ${vLoad(dt, addr(srcPtr('(local.get $k)'), t.size), false)})
          ${vOp(dt, op)}
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br $kl)))
        ${floatDiv ? `(if (i32.ne (local.get $div) (i32.const 1)) (then (local.set $vacc (${t.v}.div (local.get $vacc) (${t.v}.splat (${t.acc}.convert_i32_u (local.get $div)))))))` : ''}
        ${vStore(dt, addr('(local.get $dst)', sd), '(local.get $vacc)', fd)}
        (local.set $i (i32.add (local.get $i) (i32.const ${lanes})))
        (br $vl)))`);
    }
  } else {
    out.push(`(local.set $s0 ${srcPtr('(i32.const 0)')})`);
  }
  out.push(`
    (block $sb (loop $sl
      (br_if $sb (i32.ge_u (local.get $i) (local.get $count)))
      (local.set $acc ${sLoad(dt, addr('(local.get $s0)', s0), f0)})
      (local.set $k (i32.const 1))
      (block $kb2 (loop $kl2
        (br_if $kb2 (i32.ge_u (local.get $k) (local.get $n)))
        (local.set $x ${sLoad(dt, addr(srcPtr('(local.get $k)'), t.size), false)})
        ${sOp(dt, op)}
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $kl2)))
      ${floatDiv ? `(if (i32.ne (local.get $div) (i32.const 1)) (then ${sDivFloat(dt)}))` : ''}
      ${sStore(dt, addr('(local.get $dst)', sd), '(local.get $acc)', fd)}
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $sl)))`);
  if (!floatDiv) out.push(intDivPass(dt));
  return out.join('\n');
}

/** Integer avg: divide the wrapped sum in place, truncating like C. */
function intDivPass(dt) {
  const t = T[dt];
  const sfx = t.signed ? 's' : 'u';
  const p = addr('(local.get $dst)', t.size);
  const d = t.acc === 'i64' ? `(i64.extend_i32_u (local.get $div))` : `(local.get $div)`;
  return `
    (if (i32.ne (local.get $div) (i32.const 1)) (then
      (local.set $i (i32.const 0))
      (block $db (loop $dl
        (br_if $db (i32.ge_u (local.get $i) (local.get $count)))
        ${sStore(dt, p, `(${t.acc}.div_${sfx} ${sLoad(dt, p, false)} ${d})`, false)}
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $dl)))))`;
}

function kernel(dt, op, simd) {
  const t = T[dt];
  const variants = t.cls === 'lowp' ? [0, 1, 2, 3] : [0];
  const bodies = variants.map((flags) => {
    const b = body(dt, op, simd, (flags & 1) !== 0, (flags & 2) !== 0);
    return t.cls === 'lowp' ? `(if (i32.eq (local.get $flags) (i32.const ${flags})) (then ${b} (return)))` : b;
  });
  return `
  (func (export "reduce_${op}_${dt}") (param $dst i32) (param $tab i32) (param $n i32) (param $count i32) (param $div i32) (param $flags i32)
    (local $i i32) (local $k i32) (local $vend i32) (local $s0 i32) (local $s1 i32) (local $pd i32) (local $pend i32)
    (local $acc ${t.acc}) (local $x ${t.acc}) (local $cs ${t.acc}) ${simd ? '(local $vacc v128) (local $vacc2 v128) (local $vraw v128) (local $vx v128) (local $cv v128)' : ''}
    ${bodies.join('\n')})`;
}

const SCALAR_HELPERS = `
  (func $h2f (param $h i32) (result f32)
    (local $em i32) (local $f i32)
    (local.set $em (i32.and (local.get $h) (i32.const 0x7fff)))
    ;; exponent rebias by multiplication handles normals and subnormals exactly
    (local.set $f (i32.reinterpret_f32 (f32.mul (f32.reinterpret_i32 (i32.shl (local.get $em) (i32.const 13))) (f32.reinterpret_i32 (i32.const 0x77800000)))))
    (if (i32.ge_u (local.get $em) (i32.const 0x7c00)) (then (local.set $f (i32.or (local.get $f) (i32.const 0x7f800000)))))
    (f32.reinterpret_i32 (i32.or (local.get $f) (i32.shl (i32.and (local.get $h) (i32.const 0x8000)) (i32.const 16)))))
  (func $f2h (param $x f32) (result i32)
    (local $f i32) (local $sign i32) (local $o i32)
    (local.set $f (i32.reinterpret_f32 (local.get $x)))
    (local.set $sign (i32.and (local.get $f) (i32.const 0x80000000)))
    (local.set $f (i32.xor (local.get $f) (local.get $sign)))
    (if (i32.ge_u (local.get $f) (i32.const 0x47800000))
      (then (local.set $o (select (i32.const 0x7e00) (i32.const 0x7c00) (i32.gt_u (local.get $f) (i32.const 0x7f800000)))))
      (else (if (i32.lt_u (local.get $f) (i32.const 0x38800000))
        (then (local.set $o (i32.sub (i32.reinterpret_f32 (f32.add (f32.reinterpret_i32 (local.get $f)) (f32.const 0.5))) (i32.const 0x3f000000))))
        (else (local.set $o (i32.shr_u (i32.add (i32.add (local.get $f) (i32.const 0xc8000fff)) (i32.and (i32.shr_u (local.get $f) (i32.const 13)) (i32.const 1))) (i32.const 13)))))))
    (i32.or (local.get $o) (i32.shr_u (local.get $sign) (i32.const 16))))
  (func $f2bf (param $x f32) (result i32)
    (local $f i32)
    (local.set $f (i32.reinterpret_f32 (local.get $x)))
    (if (result i32) (f32.ne (local.get $x) (local.get $x))
      (then (i32.or (i32.shr_u (local.get $f) (i32.const 16)) (i32.const 0x40)))
      (else (i32.shr_u (i32.add (i32.add (local.get $f) (i32.const 0x7fff)) (i32.and (i32.shr_u (local.get $f) (i32.const 16)) (i32.const 1))) (i32.const 16)))))`;

const splat = (n) => `(v128.const i32x4 ${n} ${n} ${n} ${n})`;

const SIMD_HELPERS = `
  (func $h2f_v (param $h v128) (result v128)
    (local $em v128) (local $f v128)
    (local.set $em (v128.and (local.get $h) ${splat('0x7fff')}))
    (local.set $f (f32x4.mul (i32x4.shl (local.get $em) (i32.const 13)) ${splat('0x77800000')}))
    (local.set $f (v128.or (local.get $f) (v128.and (i32x4.gt_u (local.get $em) ${splat('0x7bff')}) ${splat('0x7f800000')})))
    (v128.or (local.get $f) (i32x4.shl (v128.and (local.get $h) ${splat('0x8000')}) (i32.const 16))))
  (func $f2h_v (param $x v128) (result v128)
    (local $f v128) (local $sign v128) (local $big v128) (local $small v128) (local $normal v128)
    (local.set $sign (v128.and (local.get $x) ${splat('0x80000000')}))
    (local.set $f (v128.xor (local.get $x) (local.get $sign)))
    (local.set $big (v128.bitselect ${splat('0x7e00')} ${splat('0x7c00')} (i32x4.gt_u (local.get $f) ${splat('0x7f800000')})))
    (local.set $small (i32x4.sub (f32x4.add (local.get $f) ${splat('0x3f000000')}) ${splat('0x3f000000')}))
    (local.set $normal (i32x4.shr_u (i32x4.add (i32x4.add (local.get $f) ${splat('0xc8000fff')}) (v128.and (i32x4.shr_u (local.get $f) (i32.const 13)) ${splat('1')})) (i32.const 13)))
    (v128.or
      (v128.bitselect (local.get $big)
        (v128.bitselect (local.get $small) (local.get $normal) (i32x4.lt_u (local.get $f) ${splat('0x38800000')}))
        (i32x4.ge_u (local.get $f) ${splat('0x47800000')}))
      (i32x4.shr_u (local.get $sign) (i32.const 16))))
  (func $f2bf_v (param $x v128) (result v128)
    (v128.bitselect
      (v128.or (i32x4.shr_u (local.get $x) (i32.const 16)) ${splat('0x40')})
      (i32x4.shr_u (i32x4.add (i32x4.add (local.get $x) ${splat('0x7fff')}) (v128.and (i32x4.shr_u (local.get $x) (i32.const 16)) ${splat('1')})) (i32.const 16))
      (f32x4.ne (local.get $x) (local.get $x))))`;

// Copies inside the pool: bulk memory.copy runs at memory speed, where
// TypedArray.copyWithin on shared memory copies word by word (several
// times slower here).
const COPY = `
  (func (export "copy") (param $dst i32) (param $src i32) (param $n i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $n)))`;

// The ll protocol's two halves. A JavaScript Atomics call is a builtin
// call (about 25 ns each here); inside WebAssembly an atomic load or store
// is one instruction, so the post (data, flag, sleeper check) and the
// first stretch of a wait run here in one call each.
const SYNC = `
  (func (export "ll_post") (param $flagAt i32) (param $dst i32) (param $src i32) (param $n i32) (param $flag i32) (param $sleepers i32) (result i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $n))
    (i32.atomic.store (local.get $flagAt) (local.get $flag))
    (i32.atomic.load (local.get $sleepers)))
  (func (export "spin_hi16") (param $addr i32) (param $want i32) (param $spins i32) (result i32)
    (local $v i32)
    (loop $again
      (local.set $v (i32.atomic.load (local.get $addr)))
      (if (i32.eq (i32.shr_u (local.get $v) (i32.const 16)) (local.get $want)) (then (return (local.get $v))))
      (br_if $again (local.tee $spins (i32.sub (local.get $spins) (i32.const 1)))))
    (local.get $v))`;

export function moduleSource(simd) {
  const fns = [];
  for (const dt of DTYPES) for (const op of OPS) fns.push(kernel(dt, op, simd));
  return `(module
  (import "env" "memory" (memory 1 65536 shared))
  ${SCALAR_HELPERS}
  ${simd ? SIMD_HELPERS : ''}
  ${fns.join('\n')}
  ${COPY}
  ${SYNC})`;
}
