;; The two inner loops of the thumbnail alignment (verify.ts), which are most of its cost in JavaScript.
;; Both do the same f64 arithmetic in the same order as the JavaScript they replace, so scores are equal to
;; the last bit: no decision depends on which of the two ran.
;;
;; shiftSums: the coarse search's correlation sums for every integer shift of the query over the warped
;; candidate grid, for the query and its mirror at once. The two queries are interleaved as f64 pairs
;; (a0, b0, a1, b1, …), so each f64x2 lane accumulates one query's sums in the order a scalar loop would.
;; Per shift with a non-zero flag it writes Σq·w, Σq·m, Σq²·m (w: warped candidate, m: its 0/1 mask) as
;; three f64 pairs (query a in lane 0, query b in lane 1), 48 bytes a shift, row-major over the shifts.
;;
;; correlate: sums for the normalised correlation of a query image with a candidate sampled bilinearly
;; through a rotation-scale-shift, over the query pixels that land inside the candidate. Writes n, Σq, Σc,
;; Σq², Σc², Σqc as six f64. Each row is sampled two pixels at a time into the buffer at $row, then summed
;; in pixel order, so the sums are those of the scalar loop. Reads up to width + 2 floats past the
;; candidate's end (one-pixel-wide or one-pixel-high images): the caller keeps them zero, as JavaScript reads
;; undefined there as 0.
(module
  (memory (export "memory") 1)
  (func (export "shiftSums")
    (param $queries i32) (param $width i32) (param $height i32)
    (param $warped i32) (param $mask i32) (param $gridWidth i32)
    (param $shiftsX i32) (param $shiftsY i32) (param $flags i32) (param $out i32)
    (local $sx i32) (local $sy i32) (local $x i32) (local $y i32)
    (local $q i32) (local $g i32)
    (local $pair v128) (local $w v128) (local $m v128)
    (local $sumQW v128) (local $sumQ v128) (local $sumQQ v128)
    (local.set $sy (i32.const 0))
    (block $doneY
      (loop $shiftY
        (br_if $doneY (i32.ge_u (local.get $sy) (local.get $shiftsY)))
        (local.set $sx (i32.const 0))
        (block $doneX
          (loop $shiftX
            (br_if $doneX (i32.ge_u (local.get $sx) (local.get $shiftsX)))
            (if (i32.load8_u (local.get $flags))
              (then
                (local.set $sumQW (f64x2.splat (f64.const 0)))
                (local.set $sumQ (f64x2.splat (f64.const 0)))
                (local.set $sumQQ (f64x2.splat (f64.const 0)))
                (local.set $q (local.get $queries))
                (local.set $y (i32.const 0))
                (block $rowsDone
                  (loop $row
                    (br_if $rowsDone (i32.ge_u (local.get $y) (local.get $height)))
                    ;; Byte offset of grid cell (sx, y + sy).
                    (local.set $g
                      (i32.shl
                        (i32.add (i32.mul (i32.add (local.get $y) (local.get $sy)) (local.get $gridWidth)) (local.get $sx))
                        (i32.const 2)))
                    (local.set $x (i32.const 0))
                    (block $pixelsDone
                      (loop $pixel
                        (br_if $pixelsDone (i32.ge_u (local.get $x) (local.get $width)))
                        (local.set $pair (v128.load (local.get $q)))
                        (local.set $w (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $warped) (local.get $g))))))
                        (local.set $m (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $mask) (local.get $g))))))
                        (local.set $sumQW (f64x2.add (local.get $sumQW) (f64x2.mul (local.get $pair) (local.get $w))))
                        (local.set $sumQ (f64x2.add (local.get $sumQ) (f64x2.mul (local.get $pair) (local.get $m))))
                        (local.set $sumQQ
                          (f64x2.add (local.get $sumQQ) (f64x2.mul (f64x2.mul (local.get $pair) (local.get $pair)) (local.get $m))))
                        (local.set $q (i32.add (local.get $q) (i32.const 16)))
                        (local.set $g (i32.add (local.get $g) (i32.const 4)))
                        (local.set $x (i32.add (local.get $x) (i32.const 1)))
                        (br $pixel)))
                    (local.set $y (i32.add (local.get $y) (i32.const 1)))
                    (br $row)))
                (v128.store (local.get $out) (local.get $sumQW))
                (v128.store offset=16 (local.get $out) (local.get $sumQ))
                (v128.store offset=32 (local.get $out) (local.get $sumQQ))))
            (local.set $flags (i32.add (local.get $flags) (i32.const 1)))
            (local.set $out (i32.add (local.get $out) (i32.const 48)))
            (local.set $sx (i32.add (local.get $sx) (i32.const 1)))
            (br $shiftX)))
        (local.set $sy (i32.add (local.get $sy) (i32.const 1)))
        (br $shiftY))))

  (func (export "correlate")
    (param $query i32) (param $width i32) (param $height i32)
    (param $candidate i32) (param $candidateWidth i32) (param $candidateHeight i32)
    (param $cos f64) (param $sin f64) (param $shiftX f64) (param $shiftY f64) (param $sums i32) (param $row i32)
    (local $x i32) (local $y i32) (local $corner v128) (local $atA i32) (local $atB i32) (local $stride i32) (local $masks i32)
    (local $cosine v128) (local $sine v128) (local $shiftXs v128)
    (local $queryCenterX v128) (local $queryCenterY f64) (local $candidateCenterX v128) (local $candidateCenterY v128)
    (local $maxX v128) (local $maxY v128) (local $lastX0 v128) (local $lastY0 v128) (local $zero v128) (local $one v128)
    (local $columns v128) (local $u v128) (local $v v128) (local $cx v128) (local $cy v128) (local $floorX v128) (local $floorY v128)
    (local $fx v128) (local $fy v128) (local $a v128) (local $b v128) (local $top v128) (local $bottom v128)
    (local $c f64) (local $q f64)
    (local $n f64) (local $sumQ f64) (local $sumC f64) (local $sumQQ f64) (local $sumCC f64) (local $sumQC f64)
    (local.set $zero (f64x2.splat (f64.const 0)))
    (local.set $one (f64x2.splat (f64.const 1)))
    (local.set $cosine (f64x2.splat (local.get $cos)))
    (local.set $sine (f64x2.splat (local.get $sin)))
    (local.set $shiftXs (f64x2.splat (local.get $shiftX)))
    (local.set $queryCenterX (f64x2.splat (f64.div (f64.convert_i32_s (i32.sub (local.get $width) (i32.const 1))) (f64.const 2))))
    (local.set $queryCenterY (f64.div (f64.convert_i32_s (i32.sub (local.get $height) (i32.const 1))) (f64.const 2)))
    (local.set $candidateCenterX (f64x2.splat (f64.div (f64.convert_i32_s (i32.sub (local.get $candidateWidth) (i32.const 1))) (f64.const 2))))
    (local.set $candidateCenterY (f64x2.splat (f64.div (f64.convert_i32_s (i32.sub (local.get $candidateHeight) (i32.const 1))) (f64.const 2))))
    (local.set $maxX (f64x2.splat (f64.convert_i32_s (i32.sub (local.get $candidateWidth) (i32.const 1)))))
    (local.set $maxY (f64x2.splat (f64.convert_i32_s (i32.sub (local.get $candidateHeight) (i32.const 1)))))
    ;; Math.max(0, size − 2): the last top-left corner of a 2×2 bilinear footprint.
    (local.set $lastX0 (f64x2.splat (f64.max (f64.const 0) (f64.convert_i32_s (i32.sub (local.get $candidateWidth) (i32.const 2))))))
    (local.set $lastY0 (f64x2.splat (f64.max (f64.const 0) (f64.convert_i32_s (i32.sub (local.get $candidateHeight) (i32.const 2))))))
    (local.set $columns (f64x2.splat (f64.convert_i32_s (local.get $candidateWidth))))
    (local.set $stride (i32.shl (local.get $candidateWidth) (i32.const 2)))
    ;; Per row: the sampled values at $row (f64, one per query pixel, two spare) and their inside masks after them.
    (local.set $masks (i32.add (local.get $row) (i32.shl (i32.add (local.get $width) (i32.const 2)) (i32.const 3))))
    (local.set $y (i32.const 0))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $y) (local.get $height)))
        (local.set $v
          (f64x2.splat (f64.sub (f64.add (f64.convert_i32_s (local.get $y)) (local.get $shiftY)) (local.get $queryCenterY))))
        ;; Pass 1, two pixels at a time: where each lands, whether inside, and its bilinear sample. A lane
        ;; outside the candidate reads a clamped, valid address and is masked out in pass 2.
        (local.set $x (i32.const 0))
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.ge_u (local.get $x) (local.get $width)))
            (local.set $u
              (f64x2.sub
                (f64x2.add
                  (f64x2.replace_lane 1 (f64x2.splat (f64.convert_i32_s (local.get $x))) (f64.convert_i32_s (i32.add (local.get $x) (i32.const 1))))
                  (local.get $shiftXs))
                (local.get $queryCenterX)))
            (local.set $cx (f64x2.add (f64x2.sub (f64x2.mul (local.get $cosine) (local.get $u)) (f64x2.mul (local.get $sine) (local.get $v))) (local.get $candidateCenterX)))
            (local.set $cy (f64x2.add (f64x2.add (f64x2.mul (local.get $sine) (local.get $u)) (f64x2.mul (local.get $cosine) (local.get $v))) (local.get $candidateCenterY)))
            (v128.store (i32.add (local.get $masks) (i32.shl (local.get $x) (i32.const 3)))
              (v128.not
                (v128.or
                  (v128.or (f64x2.lt (local.get $cx) (local.get $zero)) (f64x2.lt (local.get $cy) (local.get $zero)))
                  (v128.or (f64x2.gt (local.get $cx) (local.get $maxX)) (f64x2.gt (local.get $cy) (local.get $maxY))))))
            ;; Math.min of the floor and the last corner, as a select (no NaN can occur here).
            (local.set $floorX (f64x2.floor (local.get $cx)))
            (local.set $floorX (v128.bitselect (local.get $floorX) (local.get $lastX0) (f64x2.le (local.get $floorX) (local.get $lastX0))))
            (local.set $floorY (f64x2.floor (local.get $cy)))
            (local.set $floorY (v128.bitselect (local.get $floorY) (local.get $lastY0) (f64x2.le (local.get $floorY) (local.get $lastY0))))
            (local.set $fx (f64x2.sub (local.get $cx) (local.get $floorX)))
            (local.set $fy (f64x2.sub (local.get $cy) (local.get $floorY)))
            (local.set $corner
              (i32x4.trunc_sat_f64x2_s_zero
                (f64x2.add
                  (f64x2.mul (f64x2.max (local.get $floorY) (local.get $zero)) (local.get $columns))
                  (f64x2.max (local.get $floorX) (local.get $zero)))))
            (local.set $atA (i32.add (local.get $candidate) (i32.shl (i32x4.extract_lane 0 (local.get $corner)) (i32.const 2))))
            (local.set $atB (i32.add (local.get $candidate) (i32.shl (i32x4.extract_lane 1 (local.get $corner)) (i32.const 2))))
            (local.set $a
              (f64x2.replace_lane 1 (f64x2.splat (f64.promote_f32 (f32.load (local.get $atA)))) (f64.promote_f32 (f32.load (local.get $atB)))))
            (local.set $b
              (f64x2.replace_lane 1 (f64x2.splat (f64.promote_f32 (f32.load offset=4 (local.get $atA)))) (f64.promote_f32 (f32.load offset=4 (local.get $atB)))))
            (local.set $top (f64x2.add (f64x2.mul (local.get $a) (f64x2.sub (local.get $one) (local.get $fx))) (f64x2.mul (local.get $b) (local.get $fx))))
            (local.set $atA (i32.add (local.get $atA) (local.get $stride)))
            (local.set $atB (i32.add (local.get $atB) (local.get $stride)))
            (local.set $a
              (f64x2.replace_lane 1 (f64x2.splat (f64.promote_f32 (f32.load (local.get $atA)))) (f64.promote_f32 (f32.load (local.get $atB)))))
            (local.set $b
              (f64x2.replace_lane 1 (f64x2.splat (f64.promote_f32 (f32.load offset=4 (local.get $atA)))) (f64.promote_f32 (f32.load offset=4 (local.get $atB)))))
            (local.set $bottom (f64x2.add (f64x2.mul (local.get $a) (f64x2.sub (local.get $one) (local.get $fx))) (f64x2.mul (local.get $b) (local.get $fx))))
            (v128.store (i32.add (local.get $row) (i32.shl (local.get $x) (i32.const 3)))
              (f64x2.add (f64x2.mul (local.get $top) (f64x2.sub (local.get $one) (local.get $fy))) (f64x2.mul (local.get $bottom) (local.get $fy))))
            (local.set $x (i32.add (local.get $x) (i32.const 2)))
            (br $pairs)))
        ;; Pass 2, in pixel order: the sums, exactly as one scalar loop adds them.
        (local.set $x (i32.const 0))
        (block $pixelsDone
          (loop $pixel
            (br_if $pixelsDone (i32.ge_u (local.get $x) (local.get $width)))
            (if (i64.ne (i64.load (i32.add (local.get $masks) (i32.shl (local.get $x) (i32.const 3)))) (i64.const 0))
              (then
                (local.set $c (f64.load (i32.add (local.get $row) (i32.shl (local.get $x) (i32.const 3)))))
                (local.set $q
                  (f64.promote_f32
                    (f32.load
                      (i32.add (local.get $query) (i32.shl (i32.add (i32.mul (local.get $y) (local.get $width)) (local.get $x)) (i32.const 2))))))
                (local.set $n (f64.add (local.get $n) (f64.const 1)))
                (local.set $sumQ (f64.add (local.get $sumQ) (local.get $q)))
                (local.set $sumC (f64.add (local.get $sumC) (local.get $c)))
                (local.set $sumQQ (f64.add (local.get $sumQQ) (f64.mul (local.get $q) (local.get $q))))
                (local.set $sumCC (f64.add (local.get $sumCC) (f64.mul (local.get $c) (local.get $c))))
                (local.set $sumQC (f64.add (local.get $sumQC) (f64.mul (local.get $q) (local.get $c))))))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $pixel)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rowLoop)))
    (f64.store (local.get $sums) (local.get $n))
    (f64.store offset=8 (local.get $sums) (local.get $sumQ))
    (f64.store offset=16 (local.get $sums) (local.get $sumC))
    (f64.store offset=24 (local.get $sums) (local.get $sumQQ))
    (f64.store offset=32 (local.get $sums) (local.get $sumCC))
    (f64.store offset=40 (local.get $sums) (local.get $sumQC)))
)
