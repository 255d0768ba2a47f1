;; The pixel work of keypoints.ts: FAST-9 corner scores with 3×3 non-maximum suppression and the 5×5 box
;; blur (sixteen pixels, or eight sums, a step), then per keypoint the intensity-centroid moments and the
;; steered BRIEF descriptor. Integer arithmetic, and f64 operations in the order the descriptor was defined
;; with, so the results are those of the scalar definitions bit for bit.
;;
;; Layout (byte offsets chosen by the caller): the grey image at $pixels (w × h bytes, readable 32 bytes
;; past its end); corner scores as u16 at $scores (w × h, writable 32 lanes past the end); corner pixel
;; indices as i32 at $list; the blur's row sums as u16 at $horizontal and its result at $smooth (each
;; writable 16 lanes past the end).
(module
  (memory (export "memory") 1)

  ;; Scores every pixel at least $margin from each edge (0 = not a corner, a corner scores at least 9), then
  ;; writes the indices of the corners that survive suppression to $list in raster order; returns their count.
  ;; A pixel is a corner when at least three of the four compass pixels are brighter (or darker) than the
  ;; centre by more than 20, and nine contiguous circle pixels are brighter (or darker). Its score is the sum
  ;; over the circle of max(0, |value − centre| − 20).
  (func (export "corners")
    (param $pixels i32) (param $w i32) (param $h i32) (param $margin i32) (param $scores i32) (param $list i32)
    (result i32)
    (local $y i32) (local $x i32) (local $end i32) (local $at i32) (local $out i32) (local $count i32)
    (local $rowM3 i32) (local $rowM2 i32) (local $rowM1 i32) (local $row0 i32) (local $rowP1 i32) (local $rowP2 i32) (local $rowP3 i32)
    (local $score i32) (local $lane i32) (local $index i32) (local $pass i32)
    (local $centre v128) (local $high v128) (local $low v128) (local $compass v128) (local $run v128) (local $sum v128) (local $sumHigh v128)
    (local $v0 v128) (local $b0 v128) (local $d0 v128)
    (local $v1 v128) (local $b1 v128) (local $d1 v128)
    (local $v2 v128) (local $b2 v128) (local $d2 v128)
    (local $v3 v128) (local $b3 v128) (local $d3 v128)
    (local $v4 v128) (local $b4 v128) (local $d4 v128)
    (local $v5 v128) (local $b5 v128) (local $d5 v128)
    (local $v6 v128) (local $b6 v128) (local $d6 v128)
    (local $v7 v128) (local $b7 v128) (local $d7 v128)
    (local $v8 v128) (local $b8 v128) (local $d8 v128)
    (local $v9 v128) (local $b9 v128) (local $d9 v128)
    (local $v10 v128) (local $b10 v128) (local $d10 v128)
    (local $v11 v128) (local $b11 v128) (local $d11 v128)
    (local $v12 v128) (local $b12 v128) (local $d12 v128)
    (local $v13 v128) (local $b13 v128) (local $d13 v128)
    (local $v14 v128) (local $b14 v128) (local $d14 v128)
    (local $v15 v128) (local $b15 v128) (local $d15 v128)
    (local $b2_0 v128) (local $d2_0 v128) (local $b4_0 v128) (local $d4_0 v128)
    (local $b2_1 v128) (local $d2_1 v128) (local $b4_1 v128) (local $d4_1 v128)
    (local $b2_2 v128) (local $d2_2 v128) (local $b4_2 v128) (local $d4_2 v128)
    (local $b2_3 v128) (local $d2_3 v128) (local $b4_3 v128) (local $d4_3 v128)
    (local $b2_4 v128) (local $d2_4 v128) (local $b4_4 v128) (local $d4_4 v128)
    (local $b2_5 v128) (local $d2_5 v128) (local $b4_5 v128) (local $d4_5 v128)
    (local $b2_6 v128) (local $d2_6 v128) (local $b4_6 v128) (local $d4_6 v128)
    (local $b2_7 v128) (local $d2_7 v128) (local $b4_7 v128) (local $d4_7 v128)
    (local $b2_8 v128) (local $d2_8 v128) (local $b4_8 v128) (local $d4_8 v128)
    (local $b2_9 v128) (local $d2_9 v128) (local $b4_9 v128) (local $d4_9 v128)
    (local $b2_10 v128) (local $d2_10 v128) (local $b4_10 v128) (local $d4_10 v128)
    (local $b2_11 v128) (local $d2_11 v128) (local $b4_11 v128) (local $d4_11 v128)
    (local $b2_12 v128) (local $d2_12 v128) (local $b4_12 v128) (local $d4_12 v128)
    (local $b2_13 v128) (local $d2_13 v128) (local $b4_13 v128) (local $d4_13 v128)
    (local $b2_14 v128) (local $d2_14 v128) (local $b4_14 v128) (local $d4_14 v128)
    (local $b2_15 v128) (local $d2_15 v128) (local $b4_15 v128) (local $d4_15 v128)
    ;; Pixels the scan never reaches score 0.
    (memory.fill (local.get $scores) (i32.const 0) (i32.shl (i32.mul (local.get $w) (local.get $h)) (i32.const 1)))
    (local.set $end (i32.sub (local.get $w) (local.get $margin)))
    (local.set $y (local.get $margin))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_s (local.get $y) (i32.sub (local.get $h) (local.get $margin))))
        (local.set $x (local.get $margin))
        (block $chunksDone
          (loop $chunks
            (br_if $chunksDone (i32.ge_s (local.get $x) (local.get $end)))
            (local.set $index (i32.add (i32.mul (local.get $y) (local.get $w)) (local.get $x)))
            (local.set $row0 (i32.sub (i32.add (local.get $pixels) (local.get $index)) (i32.const 3)))
            (local.set $rowM1 (i32.sub (local.get $row0) (local.get $w)))
            (local.set $rowM2 (i32.sub (local.get $rowM1) (local.get $w)))
            (local.set $rowM3 (i32.sub (local.get $rowM2) (local.get $w)))
            (local.set $rowP1 (i32.add (local.get $row0) (local.get $w)))
            (local.set $rowP2 (i32.add (local.get $rowP1) (local.get $w)))
            (local.set $rowP3 (i32.add (local.get $rowP2) (local.get $w)))
            (local.set $centre (v128.load offset=3 (local.get $row0)))
            ;; Saturation keeps the comparisons exact: nothing is brighter than 255 or darker than 0.
            (local.set $high (i8x16.add_sat_u (local.get $centre) (i8x16.splat (i32.const 20))))
            (local.set $low (i8x16.sub_sat_u (local.get $centre) (i8x16.splat (i32.const 20))))
            (local.set $v0 (v128.load offset=3 (local.get $rowM3)))
            (local.set $b0 (i8x16.gt_u (local.get $v0) (local.get $high)))
            (local.set $d0 (i8x16.lt_u (local.get $v0) (local.get $low)))
            (local.set $v1 (v128.load offset=4 (local.get $rowM3)))
            (local.set $b1 (i8x16.gt_u (local.get $v1) (local.get $high)))
            (local.set $d1 (i8x16.lt_u (local.get $v1) (local.get $low)))
            (local.set $v2 (v128.load offset=5 (local.get $rowM2)))
            (local.set $b2 (i8x16.gt_u (local.get $v2) (local.get $high)))
            (local.set $d2 (i8x16.lt_u (local.get $v2) (local.get $low)))
            (local.set $v3 (v128.load offset=6 (local.get $rowM1)))
            (local.set $b3 (i8x16.gt_u (local.get $v3) (local.get $high)))
            (local.set $d3 (i8x16.lt_u (local.get $v3) (local.get $low)))
            (local.set $v4 (v128.load offset=6 (local.get $row0)))
            (local.set $b4 (i8x16.gt_u (local.get $v4) (local.get $high)))
            (local.set $d4 (i8x16.lt_u (local.get $v4) (local.get $low)))
            (local.set $v5 (v128.load offset=6 (local.get $rowP1)))
            (local.set $b5 (i8x16.gt_u (local.get $v5) (local.get $high)))
            (local.set $d5 (i8x16.lt_u (local.get $v5) (local.get $low)))
            (local.set $v6 (v128.load offset=5 (local.get $rowP2)))
            (local.set $b6 (i8x16.gt_u (local.get $v6) (local.get $high)))
            (local.set $d6 (i8x16.lt_u (local.get $v6) (local.get $low)))
            (local.set $v7 (v128.load offset=4 (local.get $rowP3)))
            (local.set $b7 (i8x16.gt_u (local.get $v7) (local.get $high)))
            (local.set $d7 (i8x16.lt_u (local.get $v7) (local.get $low)))
            (local.set $v8 (v128.load offset=3 (local.get $rowP3)))
            (local.set $b8 (i8x16.gt_u (local.get $v8) (local.get $high)))
            (local.set $d8 (i8x16.lt_u (local.get $v8) (local.get $low)))
            (local.set $v9 (v128.load offset=2 (local.get $rowP3)))
            (local.set $b9 (i8x16.gt_u (local.get $v9) (local.get $high)))
            (local.set $d9 (i8x16.lt_u (local.get $v9) (local.get $low)))
            (local.set $v10 (v128.load offset=1 (local.get $rowP2)))
            (local.set $b10 (i8x16.gt_u (local.get $v10) (local.get $high)))
            (local.set $d10 (i8x16.lt_u (local.get $v10) (local.get $low)))
            (local.set $v11 (v128.load offset=0 (local.get $rowP1)))
            (local.set $b11 (i8x16.gt_u (local.get $v11) (local.get $high)))
            (local.set $d11 (i8x16.lt_u (local.get $v11) (local.get $low)))
            (local.set $v12 (v128.load offset=0 (local.get $row0)))
            (local.set $b12 (i8x16.gt_u (local.get $v12) (local.get $high)))
            (local.set $d12 (i8x16.lt_u (local.get $v12) (local.get $low)))
            (local.set $v13 (v128.load offset=0 (local.get $rowM1)))
            (local.set $b13 (i8x16.gt_u (local.get $v13) (local.get $high)))
            (local.set $d13 (i8x16.lt_u (local.get $v13) (local.get $low)))
            (local.set $v14 (v128.load offset=1 (local.get $rowM2)))
            (local.set $b14 (i8x16.gt_u (local.get $v14) (local.get $high)))
            (local.set $d14 (i8x16.lt_u (local.get $v14) (local.get $low)))
            (local.set $v15 (v128.load offset=2 (local.get $rowM3)))
            (local.set $b15 (i8x16.gt_u (local.get $v15) (local.get $high)))
            (local.set $d15 (i8x16.lt_u (local.get $v15) (local.get $low)))
            ;; At least three of the four compass pixels (0, 4, 8, 12) brighter, or three darker.
            (local.set $compass (v128.or (v128.or (v128.and (v128.and (local.get $b0) (local.get $b4)) (v128.or (local.get $b8) (local.get $b12))) (v128.and (v128.and (local.get $b8) (local.get $b12)) (v128.or (local.get $b0) (local.get $b4)))) (v128.or (v128.and (v128.and (local.get $d0) (local.get $d4)) (v128.or (local.get $d8) (local.get $d12))) (v128.and (v128.and (local.get $d8) (local.get $d12)) (v128.or (local.get $d0) (local.get $d4))))))
            (if (v128.any_true (local.get $compass))
              (then
                ;; Runs of 2, 4, 8 contiguous circle pixels from each start, then 9 = 8 and the ninth.
                (local.set $b2_0 (v128.and (local.get $b0) (local.get $b1)))
                (local.set $b2_1 (v128.and (local.get $b1) (local.get $b2)))
                (local.set $b2_2 (v128.and (local.get $b2) (local.get $b3)))
                (local.set $b2_3 (v128.and (local.get $b3) (local.get $b4)))
                (local.set $b2_4 (v128.and (local.get $b4) (local.get $b5)))
                (local.set $b2_5 (v128.and (local.get $b5) (local.get $b6)))
                (local.set $b2_6 (v128.and (local.get $b6) (local.get $b7)))
                (local.set $b2_7 (v128.and (local.get $b7) (local.get $b8)))
                (local.set $b2_8 (v128.and (local.get $b8) (local.get $b9)))
                (local.set $b2_9 (v128.and (local.get $b9) (local.get $b10)))
                (local.set $b2_10 (v128.and (local.get $b10) (local.get $b11)))
                (local.set $b2_11 (v128.and (local.get $b11) (local.get $b12)))
                (local.set $b2_12 (v128.and (local.get $b12) (local.get $b13)))
                (local.set $b2_13 (v128.and (local.get $b13) (local.get $b14)))
                (local.set $b2_14 (v128.and (local.get $b14) (local.get $b15)))
                (local.set $b2_15 (v128.and (local.get $b15) (local.get $b0)))
                (local.set $b4_0 (v128.and (local.get $b2_0) (local.get $b2_2)))
                (local.set $b4_1 (v128.and (local.get $b2_1) (local.get $b2_3)))
                (local.set $b4_2 (v128.and (local.get $b2_2) (local.get $b2_4)))
                (local.set $b4_3 (v128.and (local.get $b2_3) (local.get $b2_5)))
                (local.set $b4_4 (v128.and (local.get $b2_4) (local.get $b2_6)))
                (local.set $b4_5 (v128.and (local.get $b2_5) (local.get $b2_7)))
                (local.set $b4_6 (v128.and (local.get $b2_6) (local.get $b2_8)))
                (local.set $b4_7 (v128.and (local.get $b2_7) (local.get $b2_9)))
                (local.set $b4_8 (v128.and (local.get $b2_8) (local.get $b2_10)))
                (local.set $b4_9 (v128.and (local.get $b2_9) (local.get $b2_11)))
                (local.set $b4_10 (v128.and (local.get $b2_10) (local.get $b2_12)))
                (local.set $b4_11 (v128.and (local.get $b2_11) (local.get $b2_13)))
                (local.set $b4_12 (v128.and (local.get $b2_12) (local.get $b2_14)))
                (local.set $b4_13 (v128.and (local.get $b2_13) (local.get $b2_15)))
                (local.set $b4_14 (v128.and (local.get $b2_14) (local.get $b2_0)))
                (local.set $b4_15 (v128.and (local.get $b2_15) (local.get $b2_1)))
                (local.set $d2_0 (v128.and (local.get $d0) (local.get $d1)))
                (local.set $d2_1 (v128.and (local.get $d1) (local.get $d2)))
                (local.set $d2_2 (v128.and (local.get $d2) (local.get $d3)))
                (local.set $d2_3 (v128.and (local.get $d3) (local.get $d4)))
                (local.set $d2_4 (v128.and (local.get $d4) (local.get $d5)))
                (local.set $d2_5 (v128.and (local.get $d5) (local.get $d6)))
                (local.set $d2_6 (v128.and (local.get $d6) (local.get $d7)))
                (local.set $d2_7 (v128.and (local.get $d7) (local.get $d8)))
                (local.set $d2_8 (v128.and (local.get $d8) (local.get $d9)))
                (local.set $d2_9 (v128.and (local.get $d9) (local.get $d10)))
                (local.set $d2_10 (v128.and (local.get $d10) (local.get $d11)))
                (local.set $d2_11 (v128.and (local.get $d11) (local.get $d12)))
                (local.set $d2_12 (v128.and (local.get $d12) (local.get $d13)))
                (local.set $d2_13 (v128.and (local.get $d13) (local.get $d14)))
                (local.set $d2_14 (v128.and (local.get $d14) (local.get $d15)))
                (local.set $d2_15 (v128.and (local.get $d15) (local.get $d0)))
                (local.set $d4_0 (v128.and (local.get $d2_0) (local.get $d2_2)))
                (local.set $d4_1 (v128.and (local.get $d2_1) (local.get $d2_3)))
                (local.set $d4_2 (v128.and (local.get $d2_2) (local.get $d2_4)))
                (local.set $d4_3 (v128.and (local.get $d2_3) (local.get $d2_5)))
                (local.set $d4_4 (v128.and (local.get $d2_4) (local.get $d2_6)))
                (local.set $d4_5 (v128.and (local.get $d2_5) (local.get $d2_7)))
                (local.set $d4_6 (v128.and (local.get $d2_6) (local.get $d2_8)))
                (local.set $d4_7 (v128.and (local.get $d2_7) (local.get $d2_9)))
                (local.set $d4_8 (v128.and (local.get $d2_8) (local.get $d2_10)))
                (local.set $d4_9 (v128.and (local.get $d2_9) (local.get $d2_11)))
                (local.set $d4_10 (v128.and (local.get $d2_10) (local.get $d2_12)))
                (local.set $d4_11 (v128.and (local.get $d2_11) (local.get $d2_13)))
                (local.set $d4_12 (v128.and (local.get $d2_12) (local.get $d2_14)))
                (local.set $d4_13 (v128.and (local.get $d2_13) (local.get $d2_15)))
                (local.set $d4_14 (v128.and (local.get $d2_14) (local.get $d2_0)))
                (local.set $d4_15 (v128.and (local.get $d2_15) (local.get $d2_1)))
                (local.set $run
                  (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.or (v128.and (v128.and (local.get $b4_0) (local.get $b4_4)) (local.get $b8))
                  (v128.and (v128.and (local.get $b4_1) (local.get $b4_5)) (local.get $b9)))
                  (v128.and (v128.and (local.get $b4_2) (local.get $b4_6)) (local.get $b10)))
                  (v128.and (v128.and (local.get $b4_3) (local.get $b4_7)) (local.get $b11)))
                  (v128.and (v128.and (local.get $b4_4) (local.get $b4_8)) (local.get $b12)))
                  (v128.and (v128.and (local.get $b4_5) (local.get $b4_9)) (local.get $b13)))
                  (v128.and (v128.and (local.get $b4_6) (local.get $b4_10)) (local.get $b14)))
                  (v128.and (v128.and (local.get $b4_7) (local.get $b4_11)) (local.get $b15)))
                  (v128.and (v128.and (local.get $b4_8) (local.get $b4_12)) (local.get $b0)))
                  (v128.and (v128.and (local.get $b4_9) (local.get $b4_13)) (local.get $b1)))
                  (v128.and (v128.and (local.get $b4_10) (local.get $b4_14)) (local.get $b2)))
                  (v128.and (v128.and (local.get $b4_11) (local.get $b4_15)) (local.get $b3)))
                  (v128.and (v128.and (local.get $b4_12) (local.get $b4_0)) (local.get $b4)))
                  (v128.and (v128.and (local.get $b4_13) (local.get $b4_1)) (local.get $b5)))
                  (v128.and (v128.and (local.get $b4_14) (local.get $b4_2)) (local.get $b6)))
                  (v128.and (v128.and (local.get $b4_15) (local.get $b4_3)) (local.get $b7)))
                  (v128.and (v128.and (local.get $d4_0) (local.get $d4_4)) (local.get $d8)))
                  (v128.and (v128.and (local.get $d4_1) (local.get $d4_5)) (local.get $d9)))
                  (v128.and (v128.and (local.get $d4_2) (local.get $d4_6)) (local.get $d10)))
                  (v128.and (v128.and (local.get $d4_3) (local.get $d4_7)) (local.get $d11)))
                  (v128.and (v128.and (local.get $d4_4) (local.get $d4_8)) (local.get $d12)))
                  (v128.and (v128.and (local.get $d4_5) (local.get $d4_9)) (local.get $d13)))
                  (v128.and (v128.and (local.get $d4_6) (local.get $d4_10)) (local.get $d14)))
                  (v128.and (v128.and (local.get $d4_7) (local.get $d4_11)) (local.get $d15)))
                  (v128.and (v128.and (local.get $d4_8) (local.get $d4_12)) (local.get $d0)))
                  (v128.and (v128.and (local.get $d4_9) (local.get $d4_13)) (local.get $d1)))
                  (v128.and (v128.and (local.get $d4_10) (local.get $d4_14)) (local.get $d2)))
                  (v128.and (v128.and (local.get $d4_11) (local.get $d4_15)) (local.get $d3)))
                  (v128.and (v128.and (local.get $d4_12) (local.get $d4_0)) (local.get $d4)))
                  (v128.and (v128.and (local.get $d4_13) (local.get $d4_1)) (local.get $d5)))
                  (v128.and (v128.and (local.get $d4_14) (local.get $d4_2)) (local.get $d6)))
                  (v128.and (v128.and (local.get $d4_15) (local.get $d4_3)) (local.get $d7))))
                (local.set $run (v128.and (local.get $run) (local.get $compass)))
                (if (v128.any_true (local.get $run))
                  (then
                    (local.set $sum (i16x8.splat (i32.const 0)))
                    (local.set $sumHigh (i16x8.splat (i32.const 0)))
                    (local.set $v0 (i8x16.sub_sat_u
                      (i8x16.sub (i8x16.max_u (local.get $v0) (local.get $centre)) (i8x16.min_u (local.get $v0) (local.get $centre)))
                      (i8x16.splat (i32.const 20))))
                    (local.set $sum (i16x8.add (local.get $sum) (i16x8.extend_low_i8x16_u (local.get $v0))))
                    (local.set $sumHigh (i16x8.add (local.get $sumHigh) (i16x8.extend_high_i8x16_u (local.get $v0))))
                    (local.set $v1 (i8x16.sub_sat_u
                      (i8x16.sub (i8x16.max_u (local.get $v1) (local.get $centre)) (i8x16.min_u (local.get $v1) (local.get $centre)))
                      (i8x16.splat (i32.const 20))))
                    (local.set $sum (i16x8.add (local.get $sum) (i16x8.extend_low_i8x16_u (local.get $v1))))
                    (local.set $sumHigh (i16x8.add (local.get $sumHigh) (i16x8.extend_high_i8x16_u (local.get $v1))))
                    (local.set $v2 (i8x16.sub_sat_u
                      (i8x16.sub (i8x16.max_u (local.get $v2) (local.get $centre)) (i8x16.min_u (local.get $v2) (local.get $centre)))
                      (i8x16.splat (i32.const 20))))
                    (local.set $sum (i16x8.add (local.get $sum) (i16x8.extend_low_i8x16_u (local.get $v2))))
                    (local.set $sumHigh (i16x8.add (local.get $sumHigh) (i16x8.extend_high_i8x16_u (local.get $v2))))
                    (local.set $v3 (i8x16.sub_sat_u
                      (i8x16.sub (i8x16.max_u (local.get $v3) (local.get $centre)) (i8x16.min_u (local.get $v3) (local.get $centre)))
                      (i8x16.splat (i32.const 20))))
                    (local.set $sum (i16x8.add (local.get $sum) (i16x8.extend_low_i8x16_u (local.get $v3))))
                    (local.set $sumHigh (i16x8.add (local.get $sumHigh) (i16x8.extend_high_i8x16_u (local.get $v3))))
                    (local.set $v4 (i8x16.sub_sat_u
                      (i8x16.sub (i8x16.max_u (local.get $v4) (local.get $centre)) (i8x16.min_u (local.get $v4) (local.get $centre)))
                      (i8x16.splat (i32.const 20))))
                    (local.set $sum (i16x8.add (local.get $sum) (i16x8.extend_low_i8x16_u (local.get $v4))))
                    (local.set $sumHigh (i16x8.add (local.get $sumHigh) (i16x8.extend_high_i8x16_u (local.get $v4))))
                    (local.set $v5 (i8x16.sub_sat_u
                      (i8x16.sub (i8x16.max_u (local.get $v5) (local.get $centre)) (i8x16.min_u (local.get $v5) (local.get $centre)))
                      (i8x16.splat (i32.const 20))))
                    (local.set $sum (i16x8.add (local.get $sum) (i16x8.extend_low_i8x16_u (local.get $v5))))
                    (local.set $sumHigh (i16x8.add (local.get $sumHigh) (i16x8.extend_high_i8x16_u (local.get $v5))))
                    (local.set $v6 (i8x16.sub_sat_u
                      (i8x16.sub (i8x16.max_u (local.get $v6) (local.get $centre)) (i8x16.min_u (local.get $v6) (local.get $centre)))
                      (i8x16.splat (i32.const 20))))
                    (local.set $sum (i16x8.add (local.get $sum) (i16x8.extend_low_i8x16_u (local.get $v6))))
                    (local.set $sumHigh (i16x8.add (local.get $sumHigh) (i16x8.extend_high_i8x16_u (local.get $v6))))
                    (local.set $v7 (i8x16.sub_sat_u
                      (i8x16.sub (i8x16.max_u (local.get $v7) (local.get $centre)) (i8x16.min_u (local.get $v7) (local.get $centre)))
                      (i8x16.splat (i32.const 20))))
                    (local.set $sum (i16x8.add (local.get $sum) (i16x8.extend_low_i8x16_u (local.get $v7))))
                    (local.set $sumHigh (i16x8.add (local.get $sumHigh) (i16x8.extend_high_i8x16_u (local.get $v7))))
                    (local.set $v8 (i8x16.sub_sat_u
                      (i8x16.sub (i8x16.max_u (local.get $v8) (local.get $centre)) (i8x16.min_u (local.get $v8) (local.get $centre)))
                      (i8x16.splat (i32.const 20))))
                    (local.set $sum (i16x8.add (local.get $sum) (i16x8.extend_low_i8x16_u (local.get $v8))))
                    (local.set $sumHigh (i16x8.add (local.get $sumHigh) (i16x8.extend_high_i8x16_u (local.get $v8))))
                    (local.set $v9 (i8x16.sub_sat_u
                      (i8x16.sub (i8x16.max_u (local.get $v9) (local.get $centre)) (i8x16.min_u (local.get $v9) (local.get $centre)))
                      (i8x16.splat (i32.const 20))))
                    (local.set $sum (i16x8.add (local.get $sum) (i16x8.extend_low_i8x16_u (local.get $v9))))
                    (local.set $sumHigh (i16x8.add (local.get $sumHigh) (i16x8.extend_high_i8x16_u (local.get $v9))))
                    (local.set $v10 (i8x16.sub_sat_u
                      (i8x16.sub (i8x16.max_u (local.get $v10) (local.get $centre)) (i8x16.min_u (local.get $v10) (local.get $centre)))
                      (i8x16.splat (i32.const 20))))
                    (local.set $sum (i16x8.add (local.get $sum) (i16x8.extend_low_i8x16_u (local.get $v10))))
                    (local.set $sumHigh (i16x8.add (local.get $sumHigh) (i16x8.extend_high_i8x16_u (local.get $v10))))
                    (local.set $v11 (i8x16.sub_sat_u
                      (i8x16.sub (i8x16.max_u (local.get $v11) (local.get $centre)) (i8x16.min_u (local.get $v11) (local.get $centre)))
                      (i8x16.splat (i32.const 20))))
                    (local.set $sum (i16x8.add (local.get $sum) (i16x8.extend_low_i8x16_u (local.get $v11))))
                    (local.set $sumHigh (i16x8.add (local.get $sumHigh) (i16x8.extend_high_i8x16_u (local.get $v11))))
                    (local.set $v12 (i8x16.sub_sat_u
                      (i8x16.sub (i8x16.max_u (local.get $v12) (local.get $centre)) (i8x16.min_u (local.get $v12) (local.get $centre)))
                      (i8x16.splat (i32.const 20))))
                    (local.set $sum (i16x8.add (local.get $sum) (i16x8.extend_low_i8x16_u (local.get $v12))))
                    (local.set $sumHigh (i16x8.add (local.get $sumHigh) (i16x8.extend_high_i8x16_u (local.get $v12))))
                    (local.set $v13 (i8x16.sub_sat_u
                      (i8x16.sub (i8x16.max_u (local.get $v13) (local.get $centre)) (i8x16.min_u (local.get $v13) (local.get $centre)))
                      (i8x16.splat (i32.const 20))))
                    (local.set $sum (i16x8.add (local.get $sum) (i16x8.extend_low_i8x16_u (local.get $v13))))
                    (local.set $sumHigh (i16x8.add (local.get $sumHigh) (i16x8.extend_high_i8x16_u (local.get $v13))))
                    (local.set $v14 (i8x16.sub_sat_u
                      (i8x16.sub (i8x16.max_u (local.get $v14) (local.get $centre)) (i8x16.min_u (local.get $v14) (local.get $centre)))
                      (i8x16.splat (i32.const 20))))
                    (local.set $sum (i16x8.add (local.get $sum) (i16x8.extend_low_i8x16_u (local.get $v14))))
                    (local.set $sumHigh (i16x8.add (local.get $sumHigh) (i16x8.extend_high_i8x16_u (local.get $v14))))
                    (local.set $v15 (i8x16.sub_sat_u
                      (i8x16.sub (i8x16.max_u (local.get $v15) (local.get $centre)) (i8x16.min_u (local.get $v15) (local.get $centre)))
                      (i8x16.splat (i32.const 20))))
                    (local.set $sum (i16x8.add (local.get $sum) (i16x8.extend_low_i8x16_u (local.get $v15))))
                    (local.set $sumHigh (i16x8.add (local.get $sumHigh) (i16x8.extend_high_i8x16_u (local.get $v15))))
                    (local.set $at (i32.add (local.get $scores) (i32.shl (local.get $index) (i32.const 1))))
                    (v128.store (local.get $at) (v128.and (local.get $sum) (i16x8.extend_low_i8x16_s (local.get $run))))
                    (v128.store offset=16 (local.get $at) (v128.and (local.get $sumHigh) (i16x8.extend_high_i8x16_s (local.get $run))))))))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (br $chunks)))
        ;; The last step may have scored up to 15 pixels past the scanned columns: they are not corners.
        (local.set $at (i32.add (local.get $scores) (i32.shl (i32.add (i32.mul (local.get $y) (local.get $w)) (local.get $end)) (i32.const 1))))
        (v128.store (local.get $at) (i16x8.splat (i32.const 0)))
        (v128.store offset=16 (local.get $at) (i16x8.splat (i32.const 0)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows)))
    ;; Suppression: a corner survives when its earlier neighbours (raster order) score less and its later
    ;; ones no more, so of equal neighbours the first is kept.
    (local.set $count (i32.const 0))
    (local.set $out (local.get $list))
    (local.set $y (local.get $margin))
    (block $keepDone
      (loop $keepRows
        (br_if $keepDone (i32.ge_s (local.get $y) (i32.sub (local.get $h) (local.get $margin))))
        (local.set $x (local.get $margin))
        (block $keepChunksDone
          (loop $keepChunks
            (br_if $keepChunksDone (i32.ge_s (local.get $x) (local.get $end)))
            (local.set $index (i32.add (i32.mul (local.get $y) (local.get $w)) (local.get $x)))
            (if (v128.any_true (v128.load (i32.add (local.get $scores) (i32.shl (local.get $index) (i32.const 1)))))
              (then
                (local.set $lane (i32.const 0))
                (loop $lanes
                  (local.set $at (i32.add (local.get $scores) (i32.shl (local.get $index) (i32.const 1))))
                  (local.set $score (i32.load16_u (local.get $at)))
                  (if (i32.ne (local.get $score) (i32.const 0))
                    (then
                      (local.set $rowM1 (i32.sub (local.get $at) (i32.shl (local.get $w) (i32.const 1))))
                      (local.set $rowP1 (i32.add (local.get $at) (i32.shl (local.get $w) (i32.const 1))))
                      (local.set $pass
                        (i32.and
                          (i32.and
                            (i32.and
                              (i32.lt_u (i32.load16_u offset=0 (i32.sub (local.get $rowM1) (i32.const 2))) (local.get $score))
                              (i32.lt_u (i32.load16_u (local.get $rowM1)) (local.get $score)))
                            (i32.and
                              (i32.lt_u (i32.load16_u offset=2 (local.get $rowM1)) (local.get $score))
                              (i32.lt_u (i32.load16_u offset=0 (i32.sub (local.get $at) (i32.const 2))) (local.get $score))))
                          (i32.and
                            (i32.and
                              (i32.le_u (i32.load16_u offset=2 (local.get $at)) (local.get $score))
                              (i32.le_u (i32.load16_u offset=0 (i32.sub (local.get $rowP1) (i32.const 2))) (local.get $score)))
                            (i32.and
                              (i32.le_u (i32.load16_u (local.get $rowP1)) (local.get $score))
                              (i32.le_u (i32.load16_u offset=2 (local.get $rowP1)) (local.get $score))))))
                      (if (local.get $pass)
                        (then
                          (i32.store (local.get $out) (local.get $index))
                          (local.set $out (i32.add (local.get $out) (i32.const 4)))
                          (local.set $count (i32.add (local.get $count) (i32.const 1)))))))
                  (local.set $index (i32.add (local.get $index) (i32.const 1)))
                  (local.set $lane (i32.add (local.get $lane) (i32.const 1)))
                  (br_if $lanes (i32.lt_u (local.get $lane) (i32.const 8))))))
            (local.set $x (i32.add (local.get $x) (i32.const 8)))
            (br $keepChunks)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $keepRows)))
    (local.get $count))

  ;; The 5×5 box mean, edge pixels repeated, rounded: round(sum / 25) = (sum + 12) · 5243 >> 17 for every sum
  ;; a 5×5 window of bytes can have (checked for all of them in test/embedding/keypoints.test.ts).
  (func $edgeSum (param $row i32) (param $w i32) (param $x i32) (result i32)
    (local $sum i32) (local $k i32) (local $at i32)
    (local.set $k (i32.const -2))
    (loop $taps
      (local.set $at (i32.add (local.get $x) (local.get $k)))
      (if (i32.lt_s (local.get $at) (i32.const 0)) (then (local.set $at (i32.const 0))))
      (if (i32.ge_s (local.get $at) (local.get $w)) (then (local.set $at (i32.sub (local.get $w) (i32.const 1)))))
      (local.set $sum (i32.add (local.get $sum) (i32.load8_u (i32.add (local.get $row) (local.get $at)))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $taps (i32.le_s (local.get $k) (i32.const 2))))
    (local.get $sum))

  ;; Needs w ≥ 4 (the two columns at each end are summed apart from the rest).
  (func (export "blur") (param $pixels i32) (param $w i32) (param $h i32) (param $horizontal i32) (param $smooth i32)
    (local $y i32) (local $x i32) (local $row i32) (local $sums i32) (local $at i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32) (local $r4 i32) (local $last i32)
    (local $sum v128)
    ;; Row sums of five: the interior eight at a time, then the two columns at each end.
    (local.set $y (i32.const 0))
    (loop $rows
      (local.set $row (i32.add (local.get $pixels) (i32.mul (local.get $y) (local.get $w))))
      (local.set $sums (i32.add (local.get $horizontal) (i32.shl (i32.mul (local.get $y) (local.get $w)) (i32.const 1))))
      (local.set $x (i32.const 2))
      (loop $interior
        (local.set $at (i32.add (local.get $row) (local.get $x)))
        (v128.store (i32.add (local.get $sums) (i32.shl (local.get $x) (i32.const 1)))
          (i16x8.add
            (i16x8.add
              (v128.load8x8_u offset=0 (i32.sub (local.get $at) (i32.const 2)))
              (v128.load8x8_u offset=0 (i32.sub (local.get $at) (i32.const 1))))
            (i16x8.add
              (i16x8.add (v128.load8x8_u (local.get $at)) (v128.load8x8_u offset=1 (local.get $at)))
              (v128.load8x8_u offset=2 (local.get $at)))))
        (local.set $x (i32.add (local.get $x) (i32.const 8)))
        (br_if $interior (i32.lt_s (local.get $x) (i32.sub (local.get $w) (i32.const 2)))))
      (i32.store16 (local.get $sums) (call $edgeSum (local.get $row) (local.get $w) (i32.const 0)))
      (i32.store16 offset=2 (local.get $sums) (call $edgeSum (local.get $row) (local.get $w) (i32.const 1)))
      (local.set $at (i32.add (local.get $sums) (i32.shl (local.get $w) (i32.const 1))))
      (i32.store16 offset=0 (i32.sub (local.get $at) (i32.const 4)) (call $edgeSum (local.get $row) (local.get $w) (i32.sub (local.get $w) (i32.const 2))))
      (i32.store16 offset=0 (i32.sub (local.get $at) (i32.const 2)) (call $edgeSum (local.get $row) (local.get $w) (i32.sub (local.get $w) (i32.const 1))))
      (local.set $y (i32.add (local.get $y) (i32.const 1)))
      (br_if $rows (i32.lt_s (local.get $y) (local.get $h))))
    ;; Column sums of five row sums, eight at a time, rows repeated at the top and bottom.
    (local.set $last (i32.sub (local.get $h) (i32.const 1)))
    (local.set $y (i32.const 0))
    (loop $columns
      (local.set $r0 (call $rowOf (local.get $horizontal) (local.get $w) (local.get $last) (i32.sub (local.get $y) (i32.const 2))))
      (local.set $r1 (call $rowOf (local.get $horizontal) (local.get $w) (local.get $last) (i32.sub (local.get $y) (i32.const 1))))
      (local.set $r2 (call $rowOf (local.get $horizontal) (local.get $w) (local.get $last) (local.get $y)))
      (local.set $r3 (call $rowOf (local.get $horizontal) (local.get $w) (local.get $last) (i32.add (local.get $y) (i32.const 1))))
      (local.set $r4 (call $rowOf (local.get $horizontal) (local.get $w) (local.get $last) (i32.add (local.get $y) (i32.const 2))))
      (local.set $row (i32.add (local.get $smooth) (i32.mul (local.get $y) (local.get $w))))
      (local.set $x (i32.const 0))
      (loop $pixels
        (local.set $at (i32.shl (local.get $x) (i32.const 1)))
        (local.set $sum
          (i16x8.add
            (i16x8.add
              (i16x8.add (v128.load (i32.add (local.get $r0) (local.get $at))) (v128.load (i32.add (local.get $r1) (local.get $at))))
              (i16x8.add (v128.load (i32.add (local.get $r2) (local.get $at))) (v128.load (i32.add (local.get $r3) (local.get $at)))))
            (i16x8.add (v128.load (i32.add (local.get $r4) (local.get $at))) (i16x8.splat (i32.const 12)))))
        (local.set $sum
          (i16x8.narrow_i32x4_u
            (i32x4.shr_u (i32x4.extmul_low_i16x8_u (local.get $sum) (i16x8.splat (i32.const 5243))) (i32.const 17))
            (i32x4.shr_u (i32x4.extmul_high_i16x8_u (local.get $sum) (i16x8.splat (i32.const 5243))) (i32.const 17))))
        (v128.store64_lane 0 (i32.add (local.get $row) (local.get $x)) (i8x16.narrow_i16x8_u (local.get $sum) (local.get $sum)))
        (local.set $x (i32.add (local.get $x) (i32.const 8)))
        (br_if $pixels (i32.lt_s (local.get $x) (local.get $w))))
      (local.set $y (i32.add (local.get $y) (i32.const 1)))
      (br_if $columns (i32.lt_s (local.get $y) (local.get $h)))))

  ;; Intensity-centroid moments over the patch disc of each keypoint: per keypoint at $points (i32 x, y) the
  ;; sums Σ dx · value and Σ dy · value (i32) at $out, over rows dy = −13 … 13 of half-width $spans[dy + 13].
  (func (export "moments")
    (param $smooth i32) (param $width i32) (param $points i32) (param $count i32) (param $spans i32) (param $out i32)
    (local $k i32) (local $x i32) (local $y i32) (local $dy i32) (local $dx i32) (local $span i32) (local $row i32)
    (local $value i32) (local $mx i32) (local $my i32) (local $rowSum i32)
    (local.set $k (i32.const 0))
    (block $done
      (loop $keypoints
        (br_if $done (i32.ge_s (local.get $k) (local.get $count)))
        (local.set $x (i32.load (i32.add (local.get $points) (i32.shl (local.get $k) (i32.const 3)))))
        (local.set $y (i32.load offset=4 (i32.add (local.get $points) (i32.shl (local.get $k) (i32.const 3)))))
        (local.set $mx (i32.const 0))
        (local.set $my (i32.const 0))
        (local.set $dy (i32.const -13))
        (loop $rows
          (local.set $span (i32.load (i32.add (local.get $spans) (i32.shl (i32.add (local.get $dy) (i32.const 13)) (i32.const 2)))))
          (local.set $row
            (i32.add (local.get $smooth) (i32.add (i32.mul (i32.add (local.get $y) (local.get $dy)) (local.get $width)) (local.get $x))))
          (local.set $rowSum (i32.const 0))
          (local.set $dx (i32.sub (i32.const 0) (local.get $span)))
          (loop $columns
            (local.set $value (i32.load8_u (i32.add (local.get $row) (local.get $dx))))
            (local.set $mx (i32.add (local.get $mx) (i32.mul (local.get $dx) (local.get $value))))
            (local.set $rowSum (i32.add (local.get $rowSum) (local.get $value)))
            (local.set $dx (i32.add (local.get $dx) (i32.const 1)))
            (br_if $columns (i32.le_s (local.get $dx) (local.get $span))))
          (local.set $my (i32.add (local.get $my) (i32.mul (local.get $dy) (local.get $rowSum))))
          (local.set $dy (i32.add (local.get $dy) (i32.const 1)))
          (br_if $rows (i32.le_s (local.get $dy) (i32.const 13))))
        (i32.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3))) (local.get $mx))
        (i32.store offset=4 (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3))) (local.get $my))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $keypoints))))

  ;; Steered BRIEF descriptors: per keypoint at $points (i32 x, y) with its orientation's cosine and sine at
  ;; $trig (f64 pairs), eight i32 words at $out. Bit `pair` of the first four compares the smoothed pixels at
  ;; the pair's two points (f64 x1, y1, x2, y2 at $pairs) rotated by the orientation, bit 128 + `pair` the same
  ;; points mirrored top–bottom first. A point (px, py) is read at round(x + cos·px − sin·py),
  ;; round(y + sin·px + cos·py), each product and sum one f64 operation in the order below (the mirrored point
  ;; (px, −py) reuses the products with the py terms' sign flipped, which IEEE arithmetic does exactly), and
  ;; Math.round(v) as trunc(v + 0.5), exact for these coordinates (all above 0.5).
  (func (export "describe")
    (param $smooth i32) (param $width i32) (param $points i32) (param $count i32) (param $trig i32) (param $pairs i32)
    (param $out i32)
    (local $k i32) (local $pair i32) (local $at i32) (local $bit i32) (local $direct i32) (local $mirrored i32)
    (local $target i32)
    (local $x f64) (local $y f64) (local $cos f64) (local $sin f64)
    (local $x1 f64) (local $y1 f64) (local $x2 f64) (local $y2 f64)
    (local $cx1 f64) (local $sx1 f64) (local $cx2 f64) (local $sx2 f64)
    (local $sy1 f64) (local $cy1 f64) (local $sy2 f64) (local $cy2 f64)
    (local.set $k (i32.const 0))
    (block $done
      (loop $keypoints
        (br_if $done (i32.ge_s (local.get $k) (local.get $count)))
        (local.set $x (f64.convert_i32_s (i32.load (i32.add (local.get $points) (i32.shl (local.get $k) (i32.const 3))))))
        (local.set $y (f64.convert_i32_s (i32.load offset=4 (i32.add (local.get $points) (i32.shl (local.get $k) (i32.const 3))))))
        (local.set $cos (f64.load (i32.add (local.get $trig) (i32.shl (local.get $k) (i32.const 4)))))
        (local.set $sin (f64.load offset=8 (i32.add (local.get $trig) (i32.shl (local.get $k) (i32.const 4)))))
        (local.set $target (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 5))))
        (local.set $direct (i32.const 0))
        (local.set $mirrored (i32.const 0))
        (local.set $pair (i32.const 0))
        (loop $pairs
          (local.set $at (i32.add (local.get $pairs) (i32.shl (local.get $pair) (i32.const 5))))
          (local.set $x1 (f64.load (local.get $at)))
          (local.set $y1 (f64.load offset=8 (local.get $at)))
          (local.set $x2 (f64.load offset=16 (local.get $at)))
          (local.set $y2 (f64.load offset=24 (local.get $at)))
          (local.set $cx1 (f64.add (local.get $x) (f64.mul (local.get $cos) (local.get $x1))))
          (local.set $sx1 (f64.add (local.get $y) (f64.mul (local.get $sin) (local.get $x1))))
          (local.set $cx2 (f64.add (local.get $x) (f64.mul (local.get $cos) (local.get $x2))))
          (local.set $sx2 (f64.add (local.get $y) (f64.mul (local.get $sin) (local.get $x2))))
          (local.set $sy1 (f64.mul (local.get $sin) (local.get $y1)))
          (local.set $cy1 (f64.mul (local.get $cos) (local.get $y1)))
          (local.set $sy2 (f64.mul (local.get $sin) (local.get $y2)))
          (local.set $cy2 (f64.mul (local.get $cos) (local.get $y2)))
          (local.set $bit (i32.and (local.get $pair) (i32.const 31)))
          (local.set $direct
            (i32.or (local.get $direct)
              (i32.shl
                (i32.lt_u
                  (i32.load8_u
              (i32.add (local.get $smooth)
                (i32.add
                  (i32.mul (i32.trunc_sat_f64_s (f64.add (f64.add (local.get $sx1) (local.get $cy1)) (f64.const 0.5))) (local.get $width))
                  (i32.trunc_sat_f64_s (f64.add (f64.sub (local.get $cx1) (local.get $sy1)) (f64.const 0.5))))))
                  (i32.load8_u
              (i32.add (local.get $smooth)
                (i32.add
                  (i32.mul (i32.trunc_sat_f64_s (f64.add (f64.add (local.get $sx2) (local.get $cy2)) (f64.const 0.5))) (local.get $width))
                  (i32.trunc_sat_f64_s (f64.add (f64.sub (local.get $cx2) (local.get $sy2)) (f64.const 0.5)))))))
                (local.get $bit))))
          (local.set $mirrored
            (i32.or (local.get $mirrored)
              (i32.shl
                (i32.lt_u
                  (i32.load8_u
              (i32.add (local.get $smooth)
                (i32.add
                  (i32.mul (i32.trunc_sat_f64_s (f64.add (f64.sub (local.get $sx1) (local.get $cy1)) (f64.const 0.5))) (local.get $width))
                  (i32.trunc_sat_f64_s (f64.add (f64.add (local.get $cx1) (local.get $sy1)) (f64.const 0.5))))))
                  (i32.load8_u
              (i32.add (local.get $smooth)
                (i32.add
                  (i32.mul (i32.trunc_sat_f64_s (f64.add (f64.sub (local.get $sx2) (local.get $cy2)) (f64.const 0.5))) (local.get $width))
                  (i32.trunc_sat_f64_s (f64.add (f64.add (local.get $cx2) (local.get $sy2)) (f64.const 0.5)))))))
                (local.get $bit))))
          (if (i32.eq (local.get $bit) (i32.const 31))
            (then
              (local.set $at (i32.add (local.get $target) (i32.shl (i32.shr_u (local.get $pair) (i32.const 5)) (i32.const 2))))
              (i32.store (local.get $at) (local.get $direct))
              (i32.store offset=16 (local.get $at) (local.get $mirrored))
              (local.set $direct (i32.const 0))
              (local.set $mirrored (i32.const 0))))
          (local.set $pair (i32.add (local.get $pair) (i32.const 1)))
          (br_if $pairs (i32.lt_u (local.get $pair) (i32.const 128))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $keypoints))))

  ;; The address of row sums `y`, clamped to [0, last].
  (func $rowOf (param $horizontal i32) (param $w i32) (param $last i32) (param $y i32) (result i32)
    (if (i32.lt_s (local.get $y) (i32.const 0)) (then (local.set $y (i32.const 0))))
    (if (i32.gt_s (local.get $y) (local.get $last)) (then (local.set $y (local.get $last))))
    (i32.add (local.get $horizontal) (i32.shl (i32.mul (local.get $y) (local.get $w)) (i32.const 1)))))
