;; A contract missing its execute and query exports.
(module
  (import "mesh" "msg_len" (func $msg_len (result i32)))
  (memory (export "memory") 2 16)
  (func (export "instantiate") (result i32) (i32.const 0)))
