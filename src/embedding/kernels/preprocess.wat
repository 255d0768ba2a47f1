;; Band handling for preprocess.ts's fill resize: packed RGB → three grey planes before the resize, and the
;; three resized planes → packed RGB floats after it.
;; Buffers are at byte offsets chosen by the caller; nothing is read or written past them.
(module
  (memory (export "memory") 1)

  ;; The box `boxWidth` × `boxHeight` at (`left`, `top`) of packed RGB at $rgb (`width` pixels a row) as three
  ;; planes of boxWidth · boxHeight bytes at $planes (red, green, blue), sixteen pixels a step.
  (func (export "bands")
    (param $rgb i32) (param $width i32) (param $left i32) (param $top i32) (param $boxWidth i32) (param $boxHeight i32)
    (param $planes i32)
    (local $y i32) (local $x i32) (local $source i32) (local $red i32) (local $green i32) (local $blue i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128)
    (local.set $red (local.get $planes))
    (local.set $green (i32.add (local.get $red) (i32.mul (local.get $boxWidth) (local.get $boxHeight))))
    (local.set $blue (i32.add (local.get $green) (i32.mul (local.get $boxWidth) (local.get $boxHeight))))
    (local.set $y (i32.const 0))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $y) (local.get $boxHeight)))
        (local.set $source
          (i32.add (local.get $rgb)
            (i32.mul (i32.add (i32.mul (i32.add (local.get $top) (local.get $y)) (local.get $width)) (local.get $left)) (i32.const 3))))
        (local.set $x (i32.const 0))
        (block $wideDone
          (loop $wide
            (br_if $wideDone (i32.gt_s (i32.add (local.get $x) (i32.const 16)) (local.get $boxWidth)))
            (local.set $v0 (v128.load (local.get $source)))
            (local.set $v1 (v128.load offset=16 (local.get $source)))
            (local.set $v2 (v128.load offset=32 (local.get $source)))
            (v128.store (local.get $red)
              (v128.or
                (v128.or
                  (i8x16.swizzle (local.get $v0) (v128.const i8x16 0x00 0x03 0x06 0x09 0x0c 0x0f 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80))
                  (i8x16.swizzle (local.get $v1) (v128.const i8x16 0x80 0x80 0x80 0x80 0x80 0x80 0x02 0x05 0x08 0x0b 0x0e 0x80 0x80 0x80 0x80 0x80)))
                (i8x16.swizzle (local.get $v2) (v128.const i8x16 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x01 0x04 0x07 0x0a 0x0d))))
            (v128.store (local.get $green)
              (v128.or
                (v128.or
                  (i8x16.swizzle (local.get $v0) (v128.const i8x16 0x01 0x04 0x07 0x0a 0x0d 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80))
                  (i8x16.swizzle (local.get $v1) (v128.const i8x16 0x80 0x80 0x80 0x80 0x80 0x00 0x03 0x06 0x09 0x0c 0x0f 0x80 0x80 0x80 0x80 0x80)))
                (i8x16.swizzle (local.get $v2) (v128.const i8x16 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x02 0x05 0x08 0x0b 0x0e))))
            (v128.store (local.get $blue)
              (v128.or
                (v128.or
                  (i8x16.swizzle (local.get $v0) (v128.const i8x16 0x02 0x05 0x08 0x0b 0x0e 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80))
                  (i8x16.swizzle (local.get $v1) (v128.const i8x16 0x80 0x80 0x80 0x80 0x80 0x01 0x04 0x07 0x0a 0x0d 0x80 0x80 0x80 0x80 0x80 0x80)))
                (i8x16.swizzle (local.get $v2) (v128.const i8x16 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x00 0x03 0x06 0x09 0x0c 0x0f))))
            (local.set $source (i32.add (local.get $source) (i32.const 48)))
            (local.set $red (i32.add (local.get $red) (i32.const 16)))
            (local.set $green (i32.add (local.get $green) (i32.const 16)))
            (local.set $blue (i32.add (local.get $blue) (i32.const 16)))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (br $wide)))
        (block $rowDone
          (loop $narrow
            (br_if $rowDone (i32.ge_s (local.get $x) (local.get $boxWidth)))
            (i32.store8 (local.get $red) (i32.load8_u (local.get $source)))
            (i32.store8 (local.get $green) (i32.load8_u offset=1 (local.get $source)))
            (i32.store8 (local.get $blue) (i32.load8_u offset=2 (local.get $source)))
            (local.set $source (i32.add (local.get $source) (i32.const 3)))
            (local.set $red (i32.add (local.get $red) (i32.const 1)))
            (local.set $green (i32.add (local.get $green) (i32.const 1)))
            (local.set $blue (i32.add (local.get $blue) (i32.const 1)))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $narrow)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows))))

  ;; Three planes of `count` bytes at $red, $green, $blue → packed RGB as f32 at $out, each byte v as
  ;; $unit[v] (an f32 table of 256 entries).
  (func (export "toUnit") (param $red i32) (param $green i32) (param $blue i32) (param $count i32) (param $unit i32) (param $out i32)
    (local $index i32)
    (local.set $index (i32.const 0))
    (block $done
      (loop $pixels
        (br_if $done (i32.ge_s (local.get $index) (local.get $count)))
        (f32.store (local.get $out)
          (f32.load (i32.add (local.get $unit) (i32.shl (i32.load8_u (i32.add (local.get $red) (local.get $index))) (i32.const 2)))))
        (f32.store offset=4 (local.get $out)
          (f32.load (i32.add (local.get $unit) (i32.shl (i32.load8_u (i32.add (local.get $green) (local.get $index))) (i32.const 2)))))
        (f32.store offset=8 (local.get $out)
          (f32.load (i32.add (local.get $unit) (i32.shl (i32.load8_u (i32.add (local.get $blue) (local.get $index))) (i32.const 2)))))
        (local.set $out (i32.add (local.get $out) (i32.const 12)))
        (local.set $index (i32.add (local.get $index) (i32.const 1)))
        (br $pixels)))))
