;; A contract that declares no maximum memory and whose execute grows memory
;; by 256 pages (16 MiB), trapping if the host refuses the growth.
(module
  (import "mesh" "msg_len" (func $msg_len (result i32)))
  (memory (export "memory") 2)
  (func (export "instantiate") (result i32) (i32.const 0))
  (func (export "execute") (result i32)
    (if (i32.eq (memory.grow (i32.const 256)) (i32.const -1))
      (then unreachable))
    (i32.const 0))
  (func (export "query") (result i32) (i32.const 0)))
