#!/usr/bin/env python3
"""A bounded load test of `gemma serve` on loopback (a program, not a test).

Starts `gemma serve --port 0` on MODEL, then for each concurrency level (default 1, 4, 16) sends a
fixed number of non-streaming greedy chat requests from that many client threads (plain HTTP,
keep-alive, one connection per client) and reports p50/p99 latency, requests/s and completion
tokens/s, the count of 5xx answers, and, for the largest level, the server's RSS after the first
and after the last half of the requests. Ends with a Markdown table and the throughput ratio of the
largest level to one client.

    python3 bench/serve_load.py --cli build/tools/gemma --model models/tiny-gemma3n \
        --requests 2000 --levels 1,4,16

Only 127.0.0.1 is ever contacted; every loop is bounded in count and in time.
"""
import argparse
import http.client
import json
import re
import signal
import statistics
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

PROMPTS = ["Hello there", "Describe the sea.", "What is two plus two?", "Write a haiku about rust.",
           "List three colours.", "Why is the sky blue?", "Name a prime number.", "Say something."]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def run_level(port, clients, requests, max_tokens, deadline, on_progress=None):
    """`requests` requests over `clients` threads; latencies, tokens and status counts."""
    lock = threading.Lock()
    results = []  # (latency seconds, completion tokens, status)
    counter = iter(range(requests))

    def client(index):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        while time.time() < deadline:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            body = json.dumps({"messages": [{"role": "user", "content": PROMPTS[n % len(PROMPTS)]}],
                               "max_tokens": max_tokens, "temperature": 0})
            start = time.perf_counter()
            try:
                conn.request("POST", "/v1/chat/completions", body,
                             {"Content-Type": "application/json"})
                response = conn.getresponse()
                payload = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                status, payload = 0, b""
            latency = time.perf_counter() - start
            tokens = json.loads(payload)["usage"]["completion_tokens"] if status == 200 else 0
            with lock:
                results.append((latency, tokens, status))
                done = len(results)
            if on_progress:
                on_progress(done)
        conn.close()

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    wall = time.perf_counter() - start
    latencies = sorted(r[0] for r in results)
    return {
        "clients": clients,
        "requests": len(results),
        "wall_s": wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "req_per_s": len(results) / wall,
        "tokens_per_s": sum(r[1] for r in results) / wall,
        "5xx": sum(1 for r in results if r[2] >= 500),
        "failed": sum(1 for r in results if r[2] != 200),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cli", required=True, help="the gemma binary")
    parser.add_argument("--model", required=True)
    parser.add_argument("--requests", type=int, default=2000, help="requests at the largest level")
    parser.add_argument("--small-requests", type=int, default=200,
                        help="requests at the other levels")
    parser.add_argument("--levels", default="1,4,16")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--time-limit", type=float, default=1800, help="seconds, all levels")
    parser.add_argument("--json-out")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]

    server = subprocess.Popen([args.cli, "serve", "--model", args.model, "--port", "0",
                               "--max-batch", str(args.max_batch), "--max-waiting", "256",
                               "--no-access-log"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        port = int(re.search(r":(\d+)$", server.stderr.readline().strip()).group(1))
        deadline = time.time() + args.time_limit
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or server.poll() is not None:
                raise SystemExit("the server did not become healthy")
            time.sleep(0.1)
        run_level(port, 2, 8, args.max_tokens, deadline)  # warm-up, not reported

        rows, rss = [], {}
        for clients in levels:
            count = args.requests if clients == max(levels) else args.small_requests
            half = count // 2

            def progress(done, count=count, half=half):
                if done == half:
                    rss["first_half_kib"] = rss_kib(server.pid)
                elif done == count:
                    rss["last_half_kib"] = rss_kib(server.pid)

            rows.append(run_level(port, clients, count, args.max_tokens, deadline,
                                  progress if clients == max(levels) else None))
            print(json.dumps(rows[-1]), flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)

    print("\n| clients | requests | p50 ms | p99 ms | req/s | completion tok/s | 5xx |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clients']} | {r['requests']} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} | "
              f"{r['req_per_s']:.1f} | {r['tokens_per_s']:.0f} | {r['5xx']} |")
    one = next((r for r in rows if r["clients"] == 1), None)
    top = rows[-1]
    if one:
        print(f"\nthroughput at {top['clients']} clients / 1 client: "
              f"{top['tokens_per_s'] / one['tokens_per_s']:.2f}x")
    if "first_half_kib" in rss and "last_half_kib" in rss:
        growth = rss["last_half_kib"] / rss["first_half_kib"] - 1
        print(f"server RSS after the first half: {rss['first_half_kib'] / 1024:.0f} MiB, after the "
              f"last: {rss['last_half_kib'] / 1024:.0f} MiB ({100 * growth:+.1f}%)")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"levels": rows, "rss": rss}, f, indent=1)


if __name__ == "__main__":
    main()
