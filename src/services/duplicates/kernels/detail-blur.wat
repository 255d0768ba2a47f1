;; The detail check's blur (detail.ts): a 3×3 box filter applied twice to an 8-bit grey image, in f32.
;; Each output is ((a + b) + c) · (1/3) in f64, rounded to f32. That is the value JavaScript's
;; ((a + b) + c) / 3 stores in a Float32Array: the two f64 results differ by at most one f64 ulp, so they
;; round to different f32 values only when they straddle an f32 rounding midpoint
;; (test/services/duplicates/kernels/detail-blur.test.ts finds none on noise or on hard edges), at a multiply's cost instead of a divide's. f64x2 lanes do two pixels at a time. The
;; arithmetic is written out inline: V8 does not inline small WebAssembly functions, and the calls cost
;; more than the work.
;; The edge pixel counts itself in place of its missing neighbour.
;;
;; Layout (byte offsets chosen by the caller, each region width × height): $pixels (u8), $out (f32, also the
;; first pass's input), $pass and $rows (f32 scratch). The result is left at $out.
(module
  (memory (export "memory") 1)

  ;; One pass: $source → $target through the horizontal scratch $rows.
  (func $boxPass (param $source i32) (param $target i32) (param $rows i32) (param $width i32) (param $height i32)
    (local $y i32) (local $x i32) (local $row i32) (local $up i32) (local $down i32) (local $at i32) (local $stride i32)
    (local.set $stride (i32.shl (local.get $width) (i32.const 2)))
    (local.set $y (i32.const 0))
    (block $horizontalDone
      (loop $horizontal
        (br_if $horizontalDone (i32.ge_u (local.get $y) (local.get $height)))
        (local.set $row (i32.mul (local.get $y) (local.get $stride)))
        (if (i32.eq (local.get $width) (i32.const 1))
          (then (f32.store (i32.add (local.get $rows) (local.get $row)) (f32.load (i32.add (local.get $source) (local.get $row)))))
          (else
            (local.set $at (i32.add (local.get $source) (local.get $row)))
            (f32.store (i32.add (local.get $rows) (local.get $row))
              (f32.demote_f64 (f64.mul (f64.add (f64.add (f64.promote_f32 (f32.load (local.get $at))) (f64.promote_f32 (f32.load (local.get $at)))) (f64.promote_f32 (f32.load offset=4 (local.get $at)))) (f64.const 0x1.5555555555555p-2))))
            ;; Interior pixels 1 … width − 2, two at a time, then the odd one.
            (local.set $x (i32.const 1))
            (block $pairsDone
              (loop $pairs
                (br_if $pairsDone (i32.gt_s (i32.add (local.get $x) (i32.const 1)) (i32.sub (local.get $width) (i32.const 2))))
                (local.set $at (i32.add (local.get $source) (i32.add (local.get $row) (i32.shl (local.get $x) (i32.const 2)))))
                (v128.store64_lane 0 (i32.add (local.get $rows) (i32.add (local.get $row) (i32.shl (local.get $x) (i32.const 2)))) (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.add
                    (f64x2.add (f64x2.promote_low_f32x4 (v128.load64_zero (i32.sub (local.get $at) (i32.const 4)))) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $at))))
                    (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $at) (i32.const 4))))) (f64x2.splat (f64.const 0x1.5555555555555p-2)))))
                (local.set $x (i32.add (local.get $x) (i32.const 2)))
                (br $pairs)))
            (if (i32.le_s (local.get $x) (i32.sub (local.get $width) (i32.const 2)))
              (then
                (local.set $at (i32.add (local.get $source) (i32.add (local.get $row) (i32.shl (local.get $x) (i32.const 2)))))
                (f32.store (i32.add (local.get $rows) (i32.add (local.get $row) (i32.shl (local.get $x) (i32.const 2))))
                  (f32.demote_f64 (f64.mul (f64.add (f64.add (f64.promote_f32 (f32.load (i32.sub (local.get $at) (i32.const 4)))) (f64.promote_f32 (f32.load (local.get $at)))) (f64.promote_f32 (f32.load offset=4 (local.get $at)))) (f64.const 0x1.5555555555555p-2))))))
            (local.set $at (i32.add (local.get $source) (i32.add (local.get $row) (i32.sub (local.get $stride) (i32.const 4)))))
            (f32.store (i32.add (local.get $rows) (i32.add (local.get $row) (i32.sub (local.get $stride) (i32.const 4))))
              (f32.demote_f64 (f64.mul (f64.add (f64.add (f64.promote_f32 (f32.load (i32.sub (local.get $at) (i32.const 4)))) (f64.promote_f32 (f32.load (local.get $at)))) (f64.promote_f32 (f32.load (local.get $at)))) (f64.const 0x1.5555555555555p-2))))))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $horizontal)))
    (local.set $y (i32.const 0))
    (block $verticalDone
      (loop $vertical
        (br_if $verticalDone (i32.ge_u (local.get $y) (local.get $height)))
        (local.set $row (i32.mul (local.get $y) (local.get $stride)))
        (local.set $up
          (select (i32.sub (local.get $row) (local.get $stride)) (local.get $row) (i32.gt_u (local.get $y) (i32.const 0))))
        (local.set $down
          (select (i32.add (local.get $row) (local.get $stride)) (local.get $row)
            (i32.lt_u (local.get $y) (i32.sub (local.get $height) (i32.const 1)))))
        (local.set $x (i32.const 0))
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.gt_u (i32.add (local.get $x) (i32.const 8)) (local.get $stride)))
            (v128.store64_lane 0 (i32.add (local.get $target) (i32.add (local.get $row) (local.get $x))) (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.add
                (f64x2.add
                  (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $rows) (i32.add (local.get $up) (local.get $x)))))
                  (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $rows) (i32.add (local.get $row) (local.get $x))))))
                (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $rows) (i32.add (local.get $down) (local.get $x)))))) (f64x2.splat (f64.const 0x1.5555555555555p-2)))))
            (local.set $x (i32.add (local.get $x) (i32.const 8)))
            (br $pairs)))
        (if (i32.lt_u (local.get $x) (local.get $stride))
          (then
            (f32.store (i32.add (local.get $target) (i32.add (local.get $row) (local.get $x)))
              (f32.demote_f64 (f64.mul (f64.add (f64.add (f64.promote_f32 (f32.load (i32.add (local.get $rows) (i32.add (local.get $up) (local.get $x))))) (f64.promote_f32 (f32.load (i32.add (local.get $rows) (i32.add (local.get $row) (local.get $x)))))) (f64.promote_f32 (f32.load (i32.add (local.get $rows) (i32.add (local.get $down) (local.get $x)))))) (f64.const 0x1.5555555555555p-2))))))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $vertical))))

  (func (export "blur") (param $pixels i32) (param $width i32) (param $height i32) (param $out i32) (param $pass i32) (param $rows i32)
    (local $index i32) (local $count i32)
    (local.set $count (i32.mul (local.get $width) (local.get $height)))
    (block $converted
      (loop $convert
        (br_if $converted (i32.ge_u (local.get $index) (local.get $count)))
        (f32.store
          (i32.add (local.get $out) (i32.shl (local.get $index) (i32.const 2)))
          (f32.convert_i32_u (i32.load8_u (i32.add (local.get $pixels) (local.get $index)))))
        (local.set $index (i32.add (local.get $index) (i32.const 1)))
        (br $convert)))
    (call $boxPass (local.get $out) (local.get $pass) (local.get $rows) (local.get $width) (local.get $height))
    (call $boxPass (local.get $pass) (local.get $out) (local.get $rows) (local.get $width) (local.get $height))))

