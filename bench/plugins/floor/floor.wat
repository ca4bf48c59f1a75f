;; floor is the smallest proxy-wasm module Envoy runs on every request: no language runtime, no
;; work, Continue to every callback. In the benchmark (configuration f) it measures what any
;; proxy-wasm plugin costs in this Envoy before it does anything: the wasm filter, V8's entries
;; into the module and the ABI's context bookkeeping. It exports the per-request callbacks the
;; Go modules export (context create, request and response headers, log, delete), so that the
;; step from (f) to the empty Go module (n) is Go's alone. Built by the benchmark with wabt's
;; wat2wasm.
(module
  (memory (export "memory") 2)

  ;; Bump allocator over the second page, wrapping around: the host fills a buffer only during
  ;; the host call that asked for it, and this module makes none.
  (global $next (mut i32) (i32.const 65536))

  (func (export "_initialize"))
  (func (export "proxy_abi_version_0_2_0"))

  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $p i32)
    (if (i32.gt_u (i32.add (global.get $next) (local.get $size)) (i32.const 131072))
      (then (global.set $next (i32.const 65536))))
    (local.set $p (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $size)))
    (local.get $p))

  ;; VM and plugin configuration: accepted.
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))

  ;; Per request: nothing, Continue (0).
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_delete") (param i32)))
