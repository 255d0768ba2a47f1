;; The two pixel passes of the detail check (detail.ts compareDetail), in the same f64 arithmetic and the
;; same order as a scalar JavaScript loop, so that the comparison does not depend on where it runs. They are
;; most of a duplicate decision's cost: a refinement compares one pair at up to 15 transforms, each over a
;; quarter-megapixel detail image.
;;
;; Images are row-major f32 (blurred grey). The caller lays out memory: query (w × h) at $query, candidate
;; (cw × ch) at $candidate, the candidate sampled into the query's frame (f32, w × h) at $sampled, an inside
;; flag per query pixel (u8) at $inside, and per block a disagree flag (u8) at $disagree.
(module
  (memory (export "memory") 1)

  ;; Pass 1: samples the candidate (bilinearly) at m·(x, y) for every query pixel; returns the sums of the
  ;; gain/offset fit at $sums: n, Σq, Σc, Σc², Σqc (f64).
  (func (export "sample")
    (param $query i32) (param $w i32) (param $h i32) (param $candidate i32) (param $cw i32) (param $ch i32)
    (param $sampled i32) (param $inside i32) (param $sums i32)
    (param $m00 f64) (param $m01 f64) (param $m02 f64) (param $m10 f64) (param $m11 f64) (param $m12 f64)
    (local $x i32) (local $y i32) (local $index i32) (local $at i32)
    (local $fx f64) (local $fy f64) (local $dx f64) (local $dy f64) (local $cx f64) (local $cy f64) (local $x0 f64) (local $y0 f64)
    (local $maxX f64) (local $maxY f64) (local $lastX0 f64) (local $lastY0 f64)
    (local $top f64) (local $bottom f64) (local $c f64) (local $q f64) (local $rowAt i32)
    (local $n f64) (local $sumQ f64) (local $sumC f64) (local $sumCC f64) (local $sumQC f64)
    (local.set $maxX (f64.convert_i32_s (i32.sub (local.get $cw) (i32.const 1))))
    (local.set $maxY (f64.convert_i32_s (i32.sub (local.get $ch) (i32.const 1))))
    (local.set $lastX0 (f64.convert_i32_s (i32.sub (local.get $cw) (i32.const 2))))
    (local.set $lastY0 (f64.convert_i32_s (i32.sub (local.get $ch) (i32.const 2))))
    (local.set $y (i32.const 0))
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_s (local.get $y) (local.get $h)))
        (local.set $fy (f64.convert_i32_s (local.get $y)))
        (local.set $x (i32.const 0))
        (block $pixelsDone
          (loop $pixel
            (br_if $pixelsDone (i32.ge_s (local.get $x) (local.get $w)))
            (local.set $index (i32.add (i32.mul (local.get $y) (local.get $w)) (local.get $x)))
            (local.set $fx (f64.convert_i32_s (local.get $x)))
            (local.set $cx (f64.add (f64.add (f64.mul (local.get $m00) (local.get $fx)) (f64.mul (local.get $m01) (local.get $fy))) (local.get $m02)))
            (local.set $cy (f64.add (f64.add (f64.mul (local.get $m10) (local.get $fx)) (f64.mul (local.get $m11) (local.get $fy))) (local.get $m12)))
            (if (i32.or
                  (i32.or (f64.lt (local.get $cx) (f64.const 0)) (f64.lt (local.get $cy) (f64.const 0)))
                  (i32.or (f64.gt (local.get $cx) (local.get $maxX)) (f64.gt (local.get $cy) (local.get $maxY))))
              (then
                (i32.store8 (i32.add (local.get $inside) (local.get $index)) (i32.const 0)))
              (else
                (local.set $x0 (f64.min (f64.floor (local.get $cx)) (local.get $lastX0)))
                (local.set $y0 (f64.min (f64.floor (local.get $cy)) (local.get $lastY0)))
                (local.set $dx (f64.sub (local.get $cx) (local.get $x0)))
                (local.set $dy (f64.sub (local.get $cy) (local.get $y0)))
                (local.set $at (i32.add (i32.mul (i32.trunc_f64_s (local.get $y0)) (local.get $cw)) (i32.trunc_f64_s (local.get $x0))))
                (local.set $rowAt (i32.add (local.get $candidate) (i32.shl (local.get $at) (i32.const 2))))
                (local.set $top
                  (f64.add
                    (f64.mul (f64.promote_f32 (f32.load (local.get $rowAt))) (f64.sub (f64.const 1) (local.get $dx)))
                    (f64.mul (f64.promote_f32 (f32.load offset=4 (local.get $rowAt))) (local.get $dx))))
                (local.set $rowAt (i32.add (local.get $rowAt) (i32.shl (local.get $cw) (i32.const 2))))
                (local.set $bottom
                  (f64.add
                    (f64.mul (f64.promote_f32 (f32.load (local.get $rowAt))) (f64.sub (f64.const 1) (local.get $dx)))
                    (f64.mul (f64.promote_f32 (f32.load offset=4 (local.get $rowAt))) (local.get $dx))))
                ;; Stored as f32, and the sums use the stored value: they describe exactly what pass 2 compares.
                (local.set $c
                  (f64.promote_f32 (f32.demote_f64
                    (f64.add (f64.mul (local.get $top) (f64.sub (f64.const 1) (local.get $dy))) (f64.mul (local.get $bottom) (local.get $dy))))))
                (f32.store (i32.add (local.get $sampled) (i32.shl (local.get $index) (i32.const 2))) (f32.demote_f64 (local.get $c)))
                (local.set $q (f64.promote_f32 (f32.load (i32.add (local.get $query) (i32.shl (local.get $index) (i32.const 2))))))
                (i32.store8 (i32.add (local.get $inside) (local.get $index)) (i32.const 1))
                (local.set $n (f64.add (local.get $n) (f64.const 1)))
                (local.set $sumQ (f64.add (local.get $sumQ) (local.get $q)))
                (local.set $sumC (f64.add (local.get $sumC) (local.get $c)))
                (local.set $sumCC (f64.add (local.get $sumCC) (f64.mul (local.get $c) (local.get $c))))
                (local.set $sumQC (f64.add (local.get $sumQC) (f64.mul (local.get $q) (local.get $c))))))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $pixel)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $row)))
    (f64.store (local.get $sums) (local.get $n))
    (f64.store offset=8 (local.get $sums) (local.get $sumQ))
    (f64.store offset=16 (local.get $sums) (local.get $sumC))
    (f64.store offset=24 (local.get $sums) (local.get $sumCC))
    (f64.store offset=32 (local.get $sums) (local.get $sumQC)))

  ;; The candidate after gain and offset at pixel $i; outside the overlap the query's own value (no difference).
  (func $fitted (param $query i32) (param $sampled i32) (param $inside i32) (param $i i32) (param $gain f64) (param $offset f64) (result f64)
    (if (result f64) (i32.eq (i32.load8_u (i32.add (local.get $inside) (local.get $i))) (i32.const 1))
      (then (f64.add (f64.mul (local.get $gain) (f64.promote_f32 (f32.load (i32.add (local.get $sampled) (i32.shl (local.get $i) (i32.const 2)))))) (local.get $offset)))
      (else (f64.promote_f32 (f32.load (i32.add (local.get $query) (i32.shl (local.get $i) (i32.const 2))))))))

  ;; Pass 2: per 16-px block, whether it is covered, textured and agreeing; writes the disagree flags and, at
  ;; $counts, the textured, agreeing and covered block counts (i32).
  (func (export "blocks")
    (param $query i32) (param $w i32) (param $h i32) (param $sampled i32) (param $inside i32) (param $disagree i32)
    (param $columns i32) (param $rows i32) (param $counts i32) (param $gain f64) (param $offset f64)
    (param $pixelDifference f64) (param $minCount f64) (param $textureDeviation f64) (param $differingShare f64)
    (local $bx i32) (local $by i32) (local $x i32) (local $y i32) (local $at i32) (local $up i32) (local $down i32)
    (local $count f64) (local $differing f64) (local $sq f64) (local $sqq f64) (local $sc f64) (local $scc f64)
    (local $q f64) (local $c f64) (local $nearest f64) (local $mean f64) (local $variance f64) (local $deviation f64)
    (local $textured i32) (local $agreeing i32) (local $covered i32) (local $cell i32)
    (local.set $by (i32.const 0))
    (block $blockRowsDone
      (loop $blockRow
        (br_if $blockRowsDone (i32.ge_s (local.get $by) (local.get $rows)))
        (local.set $bx (i32.const 0))
        (block $blocksDone
          (loop $block
            (br_if $blocksDone (i32.ge_s (local.get $bx) (local.get $columns)))
            (local.set $cell (i32.add (local.get $disagree) (i32.add (i32.mul (local.get $by) (local.get $columns)) (local.get $bx))))
            (i32.store8 (local.get $cell) (i32.const 0))
            (local.set $count (f64.const 0))
            (local.set $differing (f64.const 0))
            (local.set $sq (f64.const 0))
            (local.set $sqq (f64.const 0))
            (local.set $sc (f64.const 0))
            (local.set $scc (f64.const 0))
            (local.set $y (i32.shl (local.get $by) (i32.const 4)))
            (block $linesDone
              (loop $line
                (br_if $linesDone (i32.ge_s (local.get $y) (i32.shl (i32.add (local.get $by) (i32.const 1)) (i32.const 4))))
                (local.set $up (select (i32.sub (i32.const 0) (local.get $w)) (i32.const 0) (i32.gt_s (local.get $y) (i32.const 0))))
                (local.set $down (select (local.get $w) (i32.const 0) (i32.lt_s (local.get $y) (i32.sub (local.get $h) (i32.const 1)))))
                (local.set $x (i32.shl (local.get $bx) (i32.const 4)))
                (block $pixelsDone
                  (loop $pixel
                    (br_if $pixelsDone (i32.ge_s (local.get $x) (i32.shl (i32.add (local.get $bx) (i32.const 1)) (i32.const 4))))
                    (local.set $at (i32.add (i32.mul (local.get $y) (local.get $w)) (local.get $x)))
                    (if (i32.eq (i32.load8_u (i32.add (local.get $inside) (local.get $at))) (i32.const 1))
                      (then
                        (local.set $q (f64.promote_f32 (f32.load (i32.add (local.get $query) (i32.shl (local.get $at) (i32.const 2))))))
                        (local.set $c (f64.add (f64.mul (local.get $gain) (f64.promote_f32 (f32.load (i32.add (local.get $sampled) (i32.shl (local.get $at) (i32.const 2)))))) (local.get $offset)))
                        (local.set $count (f64.add (local.get $count) (f64.const 1)))
                        ;; Tolerant difference: the best of the candidate pixel and its four neighbours.
                        (if (f64.gt (f64.abs (f64.sub (local.get $q) (local.get $c))) (local.get $pixelDifference))
                          (then
                            (local.set $nearest
                              (f64.min
                                (f64.min
                                  (f64.abs (f64.sub (local.get $q) (call $fitted (local.get $query) (local.get $sampled) (local.get $inside)
                                    (select (i32.sub (local.get $at) (i32.const 1)) (local.get $at) (i32.gt_s (local.get $x) (i32.const 0))) (local.get $gain) (local.get $offset))))
                                  (f64.abs (f64.sub (local.get $q) (call $fitted (local.get $query) (local.get $sampled) (local.get $inside)
                                    (select (i32.add (local.get $at) (i32.const 1)) (local.get $at) (i32.lt_s (local.get $x) (i32.sub (local.get $w) (i32.const 1)))) (local.get $gain) (local.get $offset)))))
                                (f64.min
                                  (f64.abs (f64.sub (local.get $q) (call $fitted (local.get $query) (local.get $sampled) (local.get $inside) (i32.add (local.get $at) (local.get $up)) (local.get $gain) (local.get $offset))))
                                  (f64.abs (f64.sub (local.get $q) (call $fitted (local.get $query) (local.get $sampled) (local.get $inside) (i32.add (local.get $at) (local.get $down)) (local.get $gain) (local.get $offset)))))))
                            (if (f64.gt (local.get $nearest) (local.get $pixelDifference))
                              (then (local.set $differing (f64.add (local.get $differing) (f64.const 1)))))))
                        (local.set $sq (f64.add (local.get $sq) (local.get $q)))
                        (local.set $sqq (f64.add (local.get $sqq) (f64.mul (local.get $q) (local.get $q))))
                        (local.set $sc (f64.add (local.get $sc) (local.get $c)))
                        (local.set $scc (f64.add (local.get $scc) (f64.mul (local.get $c) (local.get $c))))))
                    (local.set $x (i32.add (local.get $x) (i32.const 1)))
                    (br $pixel)))
                (local.set $y (i32.add (local.get $y) (i32.const 1)))
                (br $line)))
            ;; Blocks the candidate barely covers (its edge, a cropped-off bar) are not judged.
            (if (f64.ge (local.get $count) (local.get $minCount))
              (then
                (local.set $covered (i32.add (local.get $covered) (i32.const 1)))
                (local.set $mean (f64.div (local.get $sq) (local.get $count)))
                (local.set $variance (f64.sub (f64.div (local.get $sqq) (local.get $count)) (f64.mul (local.get $mean) (local.get $mean))))
                (local.set $mean (f64.div (local.get $sc) (local.get $count)))
                (local.set $deviation
                  (f64.sqrt (f64.max (f64.max (local.get $variance) (f64.sub (f64.div (local.get $scc) (local.get $count)) (f64.mul (local.get $mean) (local.get $mean)))) (f64.const 0))))
                (if (f64.gt (local.get $deviation) (local.get $textureDeviation))
                  (then
                    (local.set $textured (i32.add (local.get $textured) (i32.const 1)))
                    (if (f64.ge (local.get $differing) (f64.mul (local.get $count) (local.get $differingShare)))
                      (then (i32.store8 (local.get $cell) (i32.const 1)))
                      (else (local.set $agreeing (i32.add (local.get $agreeing) (i32.const 1)))))))))
            (local.set $bx (i32.add (local.get $bx) (i32.const 1)))
            (br $block)))
        (local.set $by (i32.add (local.get $by) (i32.const 1)))
        (br $blockRow)))
    (i32.store (local.get $counts) (local.get $textured))
    (i32.store offset=4 (local.get $counts) (local.get $agreeing))
    (i32.store offset=8 (local.get $counts) (local.get $covered))))
