-- POST /v1/keys/verify with the body in KEYPLANE_BENCH_BODY (set by tests/bench/run).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("KEYPLANE_BENCH_BODY")
