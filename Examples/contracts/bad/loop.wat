;; A contract whose execute never returns: the host must stop it (fuel or time).
(module
  (import "mesh" "msg_len" (func $msg_len (result i32)))
  (memory (export "memory") 2 16)
  (func (export "instantiate") (result i32) (i32.const 0))
  (func (export "execute") (result i32)
    (loop $forever (br $forever))
    (i32.const 0))
  (func (export "query") (result i32) (i32.const 0)))
