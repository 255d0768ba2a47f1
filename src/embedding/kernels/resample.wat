;; The passes of grey-resample.ts: libvips's shrinkv box mean, reducev and reduceh Lanczos reductions and both
;; passes of its bicubic enlarge (12-bit fixed point), sixteen or four pixels a step where the data allows. The caller works out every position, phase and edge copy in
;; JavaScript, exactly as libvips accumulates them, and hands the kernel only row offsets, column windows
;; and weights, so the arithmetic here is the integer multiply-add and rounding alone.
;;
;; Buffers are at byte offsets chosen by the caller. Each pass may read up to 16 bytes past the end of its
;; source and write up to 16 bytes (16 words for enlargeRows) past the end of its output; outputs are written
;; row after row, so a step that runs past a row's end is overwritten by the next.
(module
  (memory (export "memory") 1)

  ;; Vertical Lanczos reduction: output row y of `width` bytes is (2048 + Σ weight · source row) >> 12,
  ;; clamped to 0–255, over `points` taps. $taps holds, per output row, `points` pairs (i32 byte offset of the
  ;; source row from $source, i32 weight).
  (func (export "reduceRows")
    (param $source i32) (param $width i32) (param $taps i32) (param $points i32) (param $outHeight i32) (param $out i32)
    (local $y i32) (local $x i32) (local $tap i32) (local $rowTaps i32) (local $at i32) (local $target i32)
    (local $weight v128) (local $pixels v128) (local $low v128) (local $high v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $y (i32.const 0))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $y) (local.get $outHeight)))
        (local.set $rowTaps (i32.add (local.get $taps) (i32.shl (i32.mul (local.get $y) (local.get $points)) (i32.const 3))))
        (local.set $target (i32.add (local.get $out) (i32.mul (local.get $y) (local.get $width))))
        (local.set $x (i32.const 0))
        (loop $columns
          (local.set $a0 (i32x4.splat (i32.const 2048)))
          (local.set $a1 (local.get $a0))
          (local.set $a2 (local.get $a0))
          (local.set $a3 (local.get $a0))
          (local.set $tap (i32.const 0))
          (loop $sum
            (local.set $at (i32.add (local.get $rowTaps) (i32.shl (local.get $tap) (i32.const 3))))
            (local.set $weight (i16x8.splat (i32.load offset=4 (local.get $at))))
            (local.set $pixels (v128.load (i32.add (i32.add (local.get $source) (i32.load (local.get $at))) (local.get $x))))
            (local.set $low (i16x8.extend_low_i8x16_u (local.get $pixels)))
            (local.set $high (i16x8.extend_high_i8x16_u (local.get $pixels)))
            (local.set $a0 (i32x4.add (local.get $a0) (i32x4.extmul_low_i16x8_s (local.get $low) (local.get $weight))))
            (local.set $a1 (i32x4.add (local.get $a1) (i32x4.extmul_high_i16x8_s (local.get $low) (local.get $weight))))
            (local.set $a2 (i32x4.add (local.get $a2) (i32x4.extmul_low_i16x8_s (local.get $high) (local.get $weight))))
            (local.set $a3 (i32x4.add (local.get $a3) (i32x4.extmul_high_i16x8_s (local.get $high) (local.get $weight))))
            (local.set $tap (i32.add (local.get $tap) (i32.const 1)))
            (br_if $sum (i32.lt_s (local.get $tap) (local.get $points))))
          ;; Signed then unsigned saturation is the clamp to 0–255.
          (v128.store (i32.add (local.get $target) (local.get $x))
            (i8x16.narrow_i16x8_u
              (i16x8.narrow_i32x4_s (i32x4.shr_s (local.get $a0) (i32.const 12)) (i32x4.shr_s (local.get $a1) (i32.const 12)))
              (i16x8.narrow_i32x4_s (i32x4.shr_s (local.get $a2) (i32.const 12)) (i32x4.shr_s (local.get $a3) (i32.const 12)))))
          (local.set $x (i32.add (local.get $x) (i32.const 16)))
          (br_if $columns (i32.lt_s (local.get $x) (local.get $width))))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows))))

  ;; Horizontal bicubic pass of the enlarge, four output columns a step: row sums (2048 + Σ weight · pixel) >> 12
  ;; of every source row, as i32 at $rows (`groups` · 4 words a row). $groups holds per step 64 bytes: the i32
  ;; offset of a 16-byte window in the source row, 16 byte indices into that window (four taps per column) and
  ;; 16 i16 weights (four per column).
  (func (export "enlargeRows")
    (param $source i32) (param $width i32) (param $height i32) (param $groups i32) (param $groupCount i32) (param $rows i32)
    (local $y i32) (local $group i32) (local $at i32) (local $row i32) (local $target i32)
    (local $taps v128) (local $first v128) (local $second v128)
    (local.set $target (local.get $rows))
    (local.set $y (i32.const 0))
    (block $done
      (loop $lines
        (br_if $done (i32.ge_s (local.get $y) (local.get $height)))
        (local.set $row (i32.add (local.get $source) (i32.mul (local.get $y) (local.get $width))))
        (local.set $group (i32.const 0))
        (block $lineDone
          (loop $steps
            (br_if $lineDone (i32.ge_s (local.get $group) (local.get $groupCount)))
            (local.set $at (i32.add (local.get $groups) (i32.shl (local.get $group) (i32.const 6))))
            (local.set $taps
              (i8x16.swizzle (v128.load (i32.add (local.get $row) (i32.load (local.get $at)))) (v128.load offset=16 (local.get $at))))
            ;; Per column, two pair sums from the dot product; adding the pairs gives the column's sum.
            (local.set $first (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_u (local.get $taps)) (v128.load offset=32 (local.get $at))))
            (local.set $second (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_u (local.get $taps)) (v128.load offset=48 (local.get $at))))
            (v128.store (local.get $target)
              (i32x4.shr_s
                (i32x4.add
                  (i32x4.add
                    (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $first) (local.get $second))
                    (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $first) (local.get $second)))
                  (i32x4.splat (i32.const 2048)))
                (i32.const 12)))
            (local.set $target (i32.add (local.get $target) (i32.const 16)))
            (local.set $group (i32.add (local.get $group) (i32.const 1)))
            (br $steps)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $lines))))

  ;; Vertical bicubic pass of the enlarge: output row y of `outWidth` bytes is (Σ weight · row sum + 2048) >> 12,
  ;; clamped to 0–255, over four rows of the row sums at $rows. $taps holds per output row four i32 byte offsets
  ;; of row sums from $rows, then four i32 weights.
  (func (export "enlargeColumns")
    (param $rows i32) (param $taps i32) (param $outWidth i32) (param $outHeight i32) (param $out i32)
    (local $y i32) (local $x i32) (local $at i32) (local $target i32) (local $offset i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32)
    (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128) (local $low v128) (local $high v128)
    (local.set $y (i32.const 0))
    (block $done
      (loop $lines
        (br_if $done (i32.ge_s (local.get $y) (local.get $outHeight)))
        (local.set $at (i32.add (local.get $taps) (i32.shl (local.get $y) (i32.const 5))))
        (local.set $r0 (i32.add (local.get $rows) (i32.load offset=0 (local.get $at))))
        (local.set $r1 (i32.add (local.get $rows) (i32.load offset=4 (local.get $at))))
        (local.set $r2 (i32.add (local.get $rows) (i32.load offset=8 (local.get $at))))
        (local.set $r3 (i32.add (local.get $rows) (i32.load offset=12 (local.get $at))))
        (local.set $w0 (v128.load32_splat offset=16 (local.get $at)))
        (local.set $w1 (v128.load32_splat offset=20 (local.get $at)))
        (local.set $w2 (v128.load32_splat offset=24 (local.get $at)))
        (local.set $w3 (v128.load32_splat offset=28 (local.get $at)))
        (local.set $target (i32.add (local.get $out) (i32.mul (local.get $y) (local.get $outWidth))))
        (local.set $x (i32.const 0))
        (loop $columns
          (local.set $offset (i32.shl (local.get $x) (i32.const 2)))
          (local.set $low
            (i32x4.add
              (i32x4.add
                (i32x4.mul (local.get $w0) (v128.load (i32.add (local.get $r0) (local.get $offset))))
                (i32x4.mul (local.get $w1) (v128.load (i32.add (local.get $r1) (local.get $offset)))))
              (i32x4.add
                (i32x4.mul (local.get $w2) (v128.load (i32.add (local.get $r2) (local.get $offset))))
                (i32x4.mul (local.get $w3) (v128.load (i32.add (local.get $r3) (local.get $offset)))))))
          (local.set $high
            (i32x4.add
              (i32x4.add
                (i32x4.mul (local.get $w0) (v128.load offset=16 (i32.add (local.get $r0) (local.get $offset))))
                (i32x4.mul (local.get $w1) (v128.load offset=16 (i32.add (local.get $r1) (local.get $offset)))))
              (i32x4.add
                (i32x4.mul (local.get $w2) (v128.load offset=16 (i32.add (local.get $r2) (local.get $offset))))
                (i32x4.mul (local.get $w3) (v128.load offset=16 (i32.add (local.get $r3) (local.get $offset)))))))
          (local.set $low
            (i16x8.narrow_i32x4_s
              (i32x4.shr_s (i32x4.add (local.get $low) (i32x4.splat (i32.const 2048))) (i32.const 12))
              (i32x4.shr_s (i32x4.add (local.get $high) (i32x4.splat (i32.const 2048))) (i32.const 12))))
          (v128.store64_lane 0 (i32.add (local.get $target) (local.get $x)) (i8x16.narrow_i16x8_u (local.get $low) (local.get $low)))
          (local.set $x (i32.add (local.get $x) (i32.const 8)))
          (br_if $columns (i32.lt_s (local.get $x) (local.get $outWidth))))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $lines))))
  ;; Vertical box mean (vips_shrinkv): output row y of `width` bytes averages source rows y·factor … y·factor +
  ;; factor − 1, the last row repeated past the end, as ((sum + amend) · multiplier) >> 24 in 32 bits.
  (func (export "shrinkRows")
    (param $source i32) (param $width i32) (param $height i32) (param $factor i32) (param $outHeight i32)
    (param $amend i32) (param $multiplier i32) (param $out i32)
    (local $y i32) (local $x i32) (local $k i32) (local $row i32) (local $target i32)
    (local $pixels v128) (local $low v128) (local $high v128) (local $add v128) (local $times v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local.set $add (i32x4.splat (local.get $amend)))
    (local.set $times (i32x4.splat (local.get $multiplier)))
    (local.set $y (i32.const 0))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $y) (local.get $outHeight)))
        (local.set $target (i32.add (local.get $out) (i32.mul (local.get $y) (local.get $width))))
        (local.set $x (i32.const 0))
        (loop $columns
          (local.set $s0 (i32x4.splat (i32.const 0)))
          (local.set $s1 (local.get $s0))
          (local.set $s2 (local.get $s0))
          (local.set $s3 (local.get $s0))
          (local.set $k (i32.const 0))
          (loop $sum
            (local.set $row (i32.add (i32.mul (local.get $y) (local.get $factor)) (local.get $k)))
            (if (i32.ge_s (local.get $row) (local.get $height)) (then (local.set $row (i32.sub (local.get $height) (i32.const 1)))))
            (local.set $pixels
              (v128.load (i32.add (i32.add (local.get $source) (i32.mul (local.get $row) (local.get $width))) (local.get $x))))
            (local.set $low (i16x8.extend_low_i8x16_u (local.get $pixels)))
            (local.set $high (i16x8.extend_high_i8x16_u (local.get $pixels)))
            (local.set $s0 (i32x4.add (local.get $s0) (i32x4.extend_low_i16x8_u (local.get $low))))
            (local.set $s1 (i32x4.add (local.get $s1) (i32x4.extend_high_i16x8_u (local.get $low))))
            (local.set $s2 (i32x4.add (local.get $s2) (i32x4.extend_low_i16x8_u (local.get $high))))
            (local.set $s3 (i32x4.add (local.get $s3) (i32x4.extend_high_i16x8_u (local.get $high))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br_if $sum (i32.lt_s (local.get $k) (local.get $factor))))
          (v128.store (i32.add (local.get $target) (local.get $x))
            (i8x16.narrow_i16x8_u
              (i16x8.narrow_i32x4_s
                (call $mean (local.get $s0) (local.get $add) (local.get $times))
                (call $mean (local.get $s1) (local.get $add) (local.get $times)))
              (i16x8.narrow_i32x4_s
                (call $mean (local.get $s2) (local.get $add) (local.get $times))
                (call $mean (local.get $s3) (local.get $add) (local.get $times)))))
          (local.set $x (i32.add (local.get $x) (i32.const 16)))
          (br_if $columns (i32.lt_s (local.get $x) (local.get $width))))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows))))

  ;; Horizontal Lanczos reduction: output pixel x of each row is (2048 + Σ weight · pixel) >> 12, clamped to
  ;; 0–255, over a window of 32 source bytes (16 when `wide` is 0) starting at the column in $starts (i32 per
  ;; output column), with 32 i16 weights per output column at $weights (edge copies folded into the weights).
  (func (export "reduceColumns")
    (param $source i32) (param $width i32) (param $height i32) (param $starts i32) (param $weights i32)
    (param $outWidth i32) (param $wide i32) (param $out i32)
    (local $y i32) (local $x i32) (local $row i32) (local $at i32) (local $w i32) (local $target i32) (local $sum i32)
    (local $pixels v128) (local $acc v128)
    (local.set $target (local.get $out))
    (local.set $y (i32.const 0))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $y) (local.get $height)))
        (local.set $row (i32.add (local.get $source) (i32.mul (local.get $y) (local.get $width))))
        (local.set $x (i32.const 0))
        (block $rowDone
          (loop $columns
            (br_if $rowDone (i32.ge_s (local.get $x) (local.get $outWidth)))
            (local.set $at (i32.add (local.get $row) (i32.load (i32.add (local.get $starts) (i32.shl (local.get $x) (i32.const 2))))))
            (local.set $w (i32.add (local.get $weights) (i32.shl (local.get $x) (i32.const 6))))
            (local.set $pixels (v128.load (local.get $at)))
            (local.set $acc
              (i32x4.add
                (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_u (local.get $pixels)) (v128.load (local.get $w)))
                (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_u (local.get $pixels)) (v128.load offset=16 (local.get $w)))))
            (if (local.get $wide)
              (then
                (local.set $pixels (v128.load offset=16 (local.get $at)))
                (local.set $acc
                  (i32x4.add (local.get $acc)
                    (i32x4.add
                      (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_u (local.get $pixels)) (v128.load offset=32 (local.get $w)))
                      (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_u (local.get $pixels)) (v128.load offset=48 (local.get $w))))))))
            (local.set $sum
              (i32.shr_s
                (i32.add
                  (i32.add
                    (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
                    (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc))))
                  (i32.const 2048))
                (i32.const 12)))
            (if (i32.lt_s (local.get $sum) (i32.const 0)) (then (local.set $sum (i32.const 0))))
            (if (i32.gt_s (local.get $sum) (i32.const 255)) (then (local.set $sum (i32.const 255))))
            (i32.store8 (local.get $target) (local.get $sum))
            (local.set $target (i32.add (local.get $target) (i32.const 1)))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $columns)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows))))

  (func $mean (param $sums v128) (param $add v128) (param $times v128) (result v128)
    (i32x4.shr_u (i32x4.mul (i32x4.add (local.get $sums) (local.get $add)) (local.get $times)) (i32.const 24)))
)
