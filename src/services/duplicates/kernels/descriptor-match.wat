;; Best and second-best Hamming distances of 256-bit descriptors, per query row and per candidate column,
;; in one pass over every (query, candidate) pair without storing the distance matrix. SIMD popcount does in
;; a few instructions what takes eight 32-bit SWAR popcounts in JavaScript; this loop is most of the cost of
;; keypoint matching. Ties resolve as a scan in index order would: the first of equal distances is best.
;;
;; Layout (byte offsets chosen by the caller): query descriptors at $query (n × 32 bytes), candidate
;; descriptors at $candidate (m × 32 bytes); results as i32 arrays: per row best, second, index at $rows,
;; $rows + 4n, $rows + 8n; per column best, second, index at $columns, $columns + 4m, $columns + 8m.
(module
  (memory (export "memory") 1)
  (func (export "bestMatches")
    (param $query i32) (param $n i32) (param $candidate i32) (param $m i32) (param $rows i32) (param $columns i32)
    (local $i i32) (local $j i32) (local $at i32) (local $offset i32) (local $distance i32)
    (local $best i32) (local $second i32) (local $bestAt i32)
    (local $columnSecond i32) (local $columnAt i32) (local $previous i32)
    (local $q0 v128) (local $q1 v128) (local $sums v128)
    (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128) (local $pairs01 v128) (local $pairs23 v128)
    (local $quad v128) (local $lessThan v128) (local $columnBest v128) (local $columnSecondBest v128)
    (local.set $columnSecond (i32.add (local.get $columns) (i32.shl (local.get $m) (i32.const 2))))
    (local.set $columnAt (i32.add (local.get $columns) (i32.shl (local.get $m) (i32.const 3))))
    ;; Columns start with no match: distances are at most 256, so 1e9 is "none yet".
    (local.set $j (i32.const 0))
    (block $initialised
      (loop $initialise
        (br_if $initialised (i32.ge_u (local.get $j) (local.get $m)))
        (local.set $offset (i32.shl (local.get $j) (i32.const 2)))
        (i32.store (i32.add (local.get $columns) (local.get $offset)) (i32.const 1000000000))
        (i32.store (i32.add (local.get $columnSecond) (local.get $offset)) (i32.const 1000000000))
        (i32.store (i32.add (local.get $columnAt) (local.get $offset)) (i32.const -1))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $initialise)))
    (local.set $i (i32.const 0))
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.add (local.get $query) (i32.shl (local.get $i) (i32.const 5))))
        (local.set $q0 (v128.load (local.get $at)))
        (local.set $q1 (v128.load offset=16 (local.get $at)))
        (local.set $best (i32.const 1000000000))
        (local.set $second (i32.const 1000000000))
        (local.set $bestAt (i32.const -1))
        (local.set $at (local.get $candidate))
        (local.set $j (i32.const 0))
        ;; Four candidates at a time: their four distances in one i32x4 (per-candidate partial sums added
        ;; across lanes by two rounds of shuffles). Column bests update lane by lane with the scalar loop's
        ;; rule; the row's best only needs the scalar rule when one of the four beats its second best (written out
;; per lane: extract_lane takes a constant).
        (block $quadsDone
          (loop $quads
            (br_if $quadsDone (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $m)))
            (local.set $d0 (i32x4.extadd_pairwise_i16x8_u
                (i16x8.extadd_pairwise_i8x16_u
                  (i8x16.add
                    (i8x16.popcnt (v128.xor (local.get $q0) (v128.load offset=0 (local.get $at))))
                    (i8x16.popcnt (v128.xor (local.get $q1) (v128.load offset=16 (local.get $at))))))))
            (local.set $d1 (i32x4.extadd_pairwise_i16x8_u
                (i16x8.extadd_pairwise_i8x16_u
                  (i8x16.add
                    (i8x16.popcnt (v128.xor (local.get $q0) (v128.load offset=32 (local.get $at))))
                    (i8x16.popcnt (v128.xor (local.get $q1) (v128.load offset=48 (local.get $at))))))))
            (local.set $d2 (i32x4.extadd_pairwise_i16x8_u
                (i16x8.extadd_pairwise_i8x16_u
                  (i8x16.add
                    (i8x16.popcnt (v128.xor (local.get $q0) (v128.load offset=64 (local.get $at))))
                    (i8x16.popcnt (v128.xor (local.get $q1) (v128.load offset=80 (local.get $at))))))))
            (local.set $d3 (i32x4.extadd_pairwise_i16x8_u
                (i16x8.extadd_pairwise_i8x16_u
                  (i8x16.add
                    (i8x16.popcnt (v128.xor (local.get $q0) (v128.load offset=96 (local.get $at))))
                    (i8x16.popcnt (v128.xor (local.get $q1) (v128.load offset=112 (local.get $at))))))))
            (local.set $pairs01
              (i32x4.add
                (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $d0) (local.get $d1))
                (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $d0) (local.get $d1))))
            (local.set $pairs23
              (i32x4.add
                (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $d2) (local.get $d3))
                (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $d2) (local.get $d3))))
            (local.set $quad
              (i32x4.add
                (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $pairs01) (local.get $pairs23))
                (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $pairs01) (local.get $pairs23))))
            (if (v128.any_true (i32x4.lt_u (local.get $quad) (i32x4.splat (local.get $second))))
              (then
                (local.set $distance (i32x4.extract_lane 0 (local.get $quad)))
                (if (i32.lt_u (local.get $distance) (local.get $best))
                  (then
                    (local.set $second (local.get $best))
                    (local.set $best (local.get $distance))
                    (local.set $bestAt (i32.add (local.get $j) (i32.const 0))))
                  (else
                    (if (i32.lt_u (local.get $distance) (local.get $second))
                      (then (local.set $second (local.get $distance))))))
                (local.set $distance (i32x4.extract_lane 1 (local.get $quad)))
                (if (i32.lt_u (local.get $distance) (local.get $best))
                  (then
                    (local.set $second (local.get $best))
                    (local.set $best (local.get $distance))
                    (local.set $bestAt (i32.add (local.get $j) (i32.const 1))))
                  (else
                    (if (i32.lt_u (local.get $distance) (local.get $second))
                      (then (local.set $second (local.get $distance))))))
                (local.set $distance (i32x4.extract_lane 2 (local.get $quad)))
                (if (i32.lt_u (local.get $distance) (local.get $best))
                  (then
                    (local.set $second (local.get $best))
                    (local.set $best (local.get $distance))
                    (local.set $bestAt (i32.add (local.get $j) (i32.const 2))))
                  (else
                    (if (i32.lt_u (local.get $distance) (local.get $second))
                      (then (local.set $second (local.get $distance))))))
                (local.set $distance (i32x4.extract_lane 3 (local.get $quad)))
                (if (i32.lt_u (local.get $distance) (local.get $best))
                  (then
                    (local.set $second (local.get $best))
                    (local.set $best (local.get $distance))
                    (local.set $bestAt (i32.add (local.get $j) (i32.const 3))))
                  (else
                    (if (i32.lt_u (local.get $distance) (local.get $second))
                      (then (local.set $second (local.get $distance))))))))
            (local.set $offset (i32.shl (local.get $j) (i32.const 2)))
            (local.set $columnBest (v128.load (i32.add (local.get $columns) (local.get $offset))))
            (local.set $columnSecondBest (v128.load (i32.add (local.get $columnSecond) (local.get $offset))))
            (local.set $lessThan (i32x4.lt_u (local.get $quad) (local.get $columnBest)))
            (v128.store (i32.add (local.get $columnSecond) (local.get $offset))
              (v128.bitselect (local.get $columnBest) (i32x4.min_u (local.get $columnSecondBest) (local.get $quad)) (local.get $lessThan)))
            (v128.store (i32.add (local.get $columns) (local.get $offset)) (i32x4.min_u (local.get $columnBest) (local.get $quad)))
            (v128.store (i32.add (local.get $columnAt) (local.get $offset))
              (v128.bitselect
                (i32x4.splat (local.get $i))
                (v128.load (i32.add (local.get $columnAt) (local.get $offset)))
                (local.get $lessThan)))
            (local.set $at (i32.add (local.get $at) (i32.const 128)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $quads)))
        (block $columnsDone
          (loop $column
            (br_if $columnsDone (i32.ge_u (local.get $j) (local.get $m)))
            ;; Per-byte popcounts of both halves (≤ 16 a lane), widened pairwise to four i32 lanes.
            (local.set $sums
              (i32x4.extadd_pairwise_i16x8_u
                (i16x8.extadd_pairwise_i8x16_u
                  (i8x16.add
                    (i8x16.popcnt (v128.xor (local.get $q0) (v128.load (local.get $at))))
                    (i8x16.popcnt (v128.xor (local.get $q1) (v128.load offset=16 (local.get $at))))))))
            (local.set $distance
              (i32.add
                (i32.add (i32x4.extract_lane 0 (local.get $sums)) (i32x4.extract_lane 1 (local.get $sums)))
                (i32.add (i32x4.extract_lane 2 (local.get $sums)) (i32x4.extract_lane 3 (local.get $sums)))))
            (if (i32.lt_u (local.get $distance) (local.get $best))
              (then
                (local.set $second (local.get $best))
                (local.set $best (local.get $distance))
                (local.set $bestAt (local.get $j)))
              (else
                (if (i32.lt_u (local.get $distance) (local.get $second))
                  (then (local.set $second (local.get $distance))))))
            (local.set $offset (i32.shl (local.get $j) (i32.const 2)))
            (local.set $previous (i32.load (i32.add (local.get $columns) (local.get $offset))))
            (if (i32.lt_u (local.get $distance) (local.get $previous))
              (then
                (i32.store (i32.add (local.get $columnSecond) (local.get $offset)) (local.get $previous))
                (i32.store (i32.add (local.get $columns) (local.get $offset)) (local.get $distance))
                (i32.store (i32.add (local.get $columnAt) (local.get $offset)) (local.get $i)))
              (else
                (if (i32.lt_u (local.get $distance) (i32.load (i32.add (local.get $columnSecond) (local.get $offset))))
                  (then (i32.store (i32.add (local.get $columnSecond) (local.get $offset)) (local.get $distance))))))
            (local.set $at (i32.add (local.get $at) (i32.const 32)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $column)))
        (local.set $offset (i32.shl (local.get $i) (i32.const 2)))
        (i32.store (i32.add (local.get $rows) (local.get $offset)) (local.get $best))
        (i32.store (i32.add (i32.add (local.get $rows) (i32.shl (local.get $n) (i32.const 2))) (local.get $offset)) (local.get $second))
        (i32.store (i32.add (i32.add (local.get $rows) (i32.shl (local.get $n) (i32.const 3))) (local.get $offset)) (local.get $bestAt))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $row)))))
