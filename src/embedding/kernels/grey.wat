;; sRGB → grey for grey.ts, with libvips's single-precision arithmetic: per pixel the three luminance products
;; (tables), their float sum in libvips's order, then the linear → 8-bit table read with linear interpolation
;; in float and rounded to even. Every step is one IEEE f32 operation, as in libvips's C, so the result is
;; the same bit for bit; what JavaScript spends on emulating f32 with Math.fround is saved.
;;
;; Layout: $tables holds the red, green and blue luminance products (f32 × 256 each) and then the
;; linear → 8-bit table (i32 × 257, the last entry repeated); the caller writes them once.
(module
  (memory (export "memory") 1)

  ;; The box `boxWidth` × `boxHeight` at (`left`, `top`) of packed RGB at $rgb (`width` pixels a row), as
  ;; row-major grey bytes at $out.
  (func (export "greyCrop")
    (param $tables i32) (param $rgb i32) (param $width i32) (param $left i32) (param $top i32)
    (param $boxWidth i32) (param $boxHeight i32) (param $out i32)
    (local $y i32) (local $x i32) (local $source i32) (local $target i32) (local $whole i32) (local $low i32)
    (local $encode i32) (local $scaled f32)
    (local.set $encode (i32.add (local.get $tables) (i32.const 3072)))
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
            ;; 255 · luminance, clamped to [0, 255].
            (local.set $scaled
              (f32.min (f32.const 255)
                (f32.max (f32.const 0)
                  (f32.mul (f32.const 255)
                    (f32.add
                      (f32.add
                        (f32.load (i32.add (local.get $tables) (i32.shl (i32.load8_u (local.get $source)) (i32.const 2))))
                        (f32.load offset=1024 (i32.add (local.get $tables) (i32.shl (i32.load8_u offset=1 (local.get $source)) (i32.const 2)))))
                      (f32.load offset=2048 (i32.add (local.get $tables) (i32.shl (i32.load8_u offset=2 (local.get $source)) (i32.const 2)))))))))
            (local.set $whole (i32.trunc_f32_s (local.get $scaled)))
            (local.set $low (i32.load (i32.add (local.get $encode) (i32.shl (local.get $whole) (i32.const 2)))))
            (i32.store8 (local.get $target)
              (i32.trunc_f32_s
                (f32.nearest
                  (f32.add
                    (f32.convert_i32_s (local.get $low))
                    (f32.mul
                      (f32.convert_i32_s (i32.sub (i32.load offset=4 (i32.add (local.get $encode) (i32.shl (local.get $whole) (i32.const 2)))) (local.get $low)))
                      (f32.sub (local.get $scaled) (f32.convert_i32_s (local.get $whole))))))))
            (local.set $source (i32.add (local.get $source) (i32.const 3)))
            (local.set $target (i32.add (local.get $target) (i32.const 1)))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $pixels)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows)))))
