;; sRGB → grey for grey.ts: per pixel the three luminance products (tables), their f32 sum in libvips's
;; order, then the grey level of that luminance from grey.ts's bucket tables: the level at the bucket's
;; start, plus one where the luminance reaches the bucket's step. The sum is one IEEE f32 operation per add,
;; as in libvips's C, so the luminance, and therefore the level, is the same bit for bit.
;;
;; Layout: $tables holds the red, green and blue luminance products (f32 × 256 each), then per bucket of
;; 1/8192 luminance the step (f32 × $buckets), then the base level (u8 × $buckets); the caller writes them once.
(module
  (memory (export "memory") 1)

  ;; The box `boxWidth` × `boxHeight` at (`left`, `top`) of packed RGB at $rgb (`width` pixels a row), as
  ;; row-major grey bytes at $out.
  (func (export "greyCrop")
    (param $tables i32) (param $buckets i32) (param $rgb i32) (param $width i32) (param $left i32) (param $top i32)
    (param $boxWidth i32) (param $boxHeight i32) (param $out i32)
    (local $y i32) (local $x i32) (local $source i32) (local $target i32) (local $bucket i32)
    (local $steps i32) (local $bases i32) (local $luminance f32)
    (local.set $steps (i32.add (local.get $tables) (i32.const 3072)))
    (local.set $bases (i32.add (local.get $steps) (i32.shl (local.get $buckets) (i32.const 2))))
    (local.set $target (local.get $out))
    (local.set $y (i32.const 0))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $y) (local.get $boxHeight)))
        (local.set $source
          (i32.add (local.get $rgb)
            (i32.mul (i32.add (i32.mul (i32.add (local.get $top) (local.get $y)) (local.get $width)) (local.get $left)) (i32.const 3))))
        (local.set $x (i32.const 0))
        (block $rowDone
          (loop $pixels
            (br_if $rowDone (i32.ge_s (local.get $x) (local.get $boxWidth)))
            (local.set $luminance
              (f32.add
                (f32.add
                  (f32.load (i32.add (local.get $tables) (i32.shl (i32.load8_u (local.get $source)) (i32.const 2))))
                  (f32.load offset=1024 (i32.add (local.get $tables) (i32.shl (i32.load8_u offset=1 (local.get $source)) (i32.const 2)))))
                (f32.load offset=2048 (i32.add (local.get $tables) (i32.shl (i32.load8_u offset=2 (local.get $source)) (i32.const 2))))))
            (local.set $bucket (i32.trunc_sat_f32_u (f32.mul (local.get $luminance) (f32.const 8192))))
            (i32.store8 (local.get $target)
              (i32.add
                (i32.load8_u (i32.add (local.get $bases) (local.get $bucket)))
                (f32.ge (local.get $luminance) (f32.load (i32.add (local.get $steps) (i32.shl (local.get $bucket) (i32.const 2)))))))
            (local.set $source (i32.add (local.get $source) (i32.const 3)))
            (local.set $target (i32.add (local.get $target) (i32.const 1)))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $pixels)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows)))))
