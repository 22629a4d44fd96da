;; A contract whose execute uses floating point (f32.add), which the
;; determinism profile forbids even though no signature mentions a float.
(module
  (import "mesh" "msg_len" (func $msg_len (result i32)))
  (memory (export "memory") 2 16)
  (func (export "instantiate") (result i32) (i32.const 0))
  (func (export "execute") (result i32)
    (drop (f32.add (f32.const 0.1) (f32.convert_i32_s (call $msg_len))))
    (i32.const 0))
  (func (export "query") (result i32) (i32.const 0)))
