"""Gateway benchmark: what a polling storm costs the bucket, how fast writes go, how soon pushes arrive.

Everything runs on an S3 space (moto's server on 127.0.0.1, in its own process); the store the
gateway (or, in direct mode, every agent) uses is wrapped in a ``CountingStore``, so requests are
counted exactly, as a real bucket bills them. Each figure is printed beside direct mode measured in
the same run, and the storm beside its floor: the gateway's own background refresh with nobody polling.

    python benchmarks/bench_gateway.py                 # the issue's figures: 50 agents x 60 s
    python benchmarks/bench_gateway.py --seconds 10    # a quicker look
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable

from support import fresh_agent_dirs, log, moto_server, table

from collabspace.domain.setup.presets import preset_spec
from collabspace.domain.setup.spec import spec_from_dict
from collabspace.gateway.identity import Tokens, new_token
from collabspace.gateway.server import GatewayServer
from collabspace.remote import RemoteSpace
from collabspace.space import Space
from collabspace.storage import open_store
from collabspace.storage.counting import CountingStore


def storm(make: Callable[[int], Space], agents: int, seconds: float, store: CountingStore) -> int:
    """``agents`` threads, each reading what is new every second for ``seconds``; returns the polls made
    (``store`` counts from the start of the window)."""
    polls = [0] * agents
    spaces = [make(i) for i in range(agents)]
    for s in spaces:
        s.read()  # synced before the window: the storm is the steady state
    store.reset()
    stop = time.monotonic() + seconds

    def poll(i: int) -> None:
        nxt = time.monotonic()
        while nxt < stop:
            spaces[i].read()
            polls[i] += 1
            nxt += 1.0
            time.sleep(max(0.0, nxt - time.monotonic()))

    threads = [threading.Thread(target=poll, args=(i,)) for i in range(agents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(polls)


def throughput(make: Callable[[int], Space], clients: int, posts: int) -> float:
    """Posts per second with ``clients`` threads posting ``posts`` each."""
    spaces = [make(i) for i in range(clients)]

    def run(i: int) -> None:
        for n in range(posts):
            spaces[i].post("status-update", f"c{i}-{n}", topic="load")

    t0 = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return clients * posts / (time.perf_counter() - t0)


def latencies(fn: Callable[[], object], n: int) -> tuple[float, float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    out.sort()
    return statistics.median(out), out[min(len(out) - 1, int(len(out) * 0.99))]


def arrival(poster: Space, waiter: Callable[[], Callable[[str], None]], n: int) -> tuple[float, float]:
    """Median and max seconds from the start of a post to its arrival at a receiver. ``waiter()`` gets
    the receiver ready (its cursor taken) and returns a function that blocks until the message whose
    body it is given has arrived."""
    out = []
    for i in range(n):
        body = f"arrival-{i}-{time.time()}"
        ready, done = threading.Event(), threading.Event()
        got: list[float] = []

        def receive() -> None:
            wait_for = waiter()
            ready.set()
            wait_for(body)
            got.append(time.perf_counter())
            done.set()

        threading.Thread(target=receive, daemon=True).start()
        ready.wait(30)
        time.sleep(0.2)  # the receiver is waiting
        sent = time.perf_counter()
        poster.post("status-update", body, topic="arrival")
        done.wait(60)
        out.append(got[0] - sent if got else 60.0)
    return statistics.median(out), max(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--posts", type=int, default=25, help="posts per client in the throughput figure")
    parser.add_argument("--ttl", type=float, default=5.0)
    args = parser.parse_args()

    with moto_server("bench") as _endpoint:
        fresh_agent_dirs()
        spec = spec_from_dict({**preset_spec("gsm8k").model_dump(mode="json", exclude_none=True),
                               "gateway": {"posts_per_minute": 100_000, "submits_per_hour": 100_000}})
        Space.init("s3://bench/gw", spec)
        seed = Space.open("s3://bench/gw", agent="seed")
        for i in range(200):
            seed.post("status-update", f"seed {i}", topic=f"seed-{i % 20}")

        # -- direct mode: every agent lists the bucket itself -----------------------------------------
        direct_store = CountingStore(open_store("s3://bench/gw"))
        log(f"[direct] {args.agents} agents polling every second for {args.seconds:g} s ...")
        fresh_agent_dirs()
        polls = storm(lambda i: Space(direct_store, agent=f"poller-{i:02d}"), args.agents, args.seconds,
                      direct_store)
        direct_storm = direct_store.total, polls

        # -- gateway mode -----------------------------------------------------------------------------
        gw_store = CountingStore(open_store("s3://bench/gw"))
        server = GatewayServer(gw_store, ttl=args.ttl, audit_flush=2.0).start()
        tokens: dict[str, str] = {}

        def remote(agent: str) -> RemoteSpace:
            if agent not in tokens:
                tokens[agent] = new_token(agent)
                Tokens(gw_store).bind(agent, tokens[agent])
            return RemoteSpace(server.url, token=tokens[agent])

        try:
            for i in range(args.agents):
                remote(f"poller-{i:02d}")
            time.sleep(args.ttl)
            log(f"[gateway] floor: nobody polling for {args.seconds:g} s ...")
            gw_store.reset()
            time.sleep(args.seconds)
            floor = gw_store.total
            log(f"[gateway] {args.agents} agents polling every second for {args.seconds:g} s ...")
            fresh_agent_dirs()
            polls = storm(lambda i: remote(f"poller-{i:02d}"), args.agents, args.seconds, gw_store)
            gw_storm = gw_store.total, polls
            log(f"[gateway] storm requests by kind: {dict(gw_store.counts)}; listings served by folder (all "
                f"windows, whole run): {dict(server.gateway.listings.by_folder)}")
            table(f"Store requests while {args.agents} agents poll every second for {args.seconds:g} s (S3)",
                  ["mode", "polls", "store requests", "per poll", "notes"], [
                      ["direct (every agent lists the bucket)", f"{direct_storm[1]:,}", f"**{direct_storm[0]:,}**",
                       f"{direct_storm[0] / max(direct_storm[1], 1):.2f}", ""],
                      ["gateway floor (nobody polling)", 0, f"{floor:,}", "-",
                       f"its own read view every {max(args.ttl, 1.0):g} s"],
                      [f"gateway (TTL {args.ttl:g} s)", f"{gw_storm[1]:,}", f"**{gw_storm[0]:,}**",
                       f"{gw_storm[0] / max(gw_storm[1], 1):.3f}",
                       f"{direct_storm[0] / max(gw_storm[0], 1):.0f}x fewer than direct"],
                  ])

            log("[both] throughput and latency ...")
            fresh_agent_dirs()
            d_tput = throughput(lambda i: Space.open("s3://bench/gw", agent=f"writer-{i}"), args.clients, args.posts)
            g_tput = throughput(lambda i: remote(f"writer-{i}"), args.clients, args.posts)
            d_space, g_space = Space.open("s3://bench/gw", agent="lat-d"), remote("lat-g")
            d_post = latencies(lambda: d_space.post("status-update", "latency", topic="lat"), 50)
            g_post = latencies(lambda: g_space.post("status-update", "latency", topic="lat"), 50)
            d_read = latencies(lambda: d_space.read(), 50)
            g_read = latencies(lambda: g_space.read(), 50)
            table(f"Writes and reads on loopback ({args.clients} concurrent clients)", [
                "figure", "direct (S3)", "gateway (over S3)"], [
                ["posts per second, 8 clients", f"{d_tput:.1f}", f"**{g_tput:.1f}**"],
                ["post latency p50 / p99 (ms)", f"{d_post[0]:.1f} / {d_post[1]:.1f}",
                 f"**{g_post[0]:.1f} / {g_post[1]:.1f}**"],
                ["read latency p50 / p99 (ms), nothing new", f"{d_read[0]:.1f} / {d_read[1]:.1f}",
                 f"**{g_read[0]:.1f} / {g_read[1]:.1f}**"],
            ])

            log("[both] push: post -> arrival ...")
            poster = remote("pusher")

            def long_poll() -> Callable[[str], None]:
                watcher = remote("watcher-lp")
                cursor = watcher.client.json("GET", "/v1/messages", query={"limit": 1})["cursor"]

                def wait(body: str) -> None:
                    nonlocal cursor
                    while True:
                        out = watcher.client.json("GET", "/v1/messages", query={"after": cursor, "wait": 30})
                        if any(m["body"].strip() == body for m in out["messages"]):
                            return
                        cursor = out["cursor"] or cursor
                return wait

            def watch(make: Callable[[], Space]) -> Callable[[], Callable[[str], None]]:
                def ready() -> Callable[[str], None]:
                    space = make()
                    space.read()
                    items = space.watch(interval=1.0)

                    def wait(body: str) -> None:
                        for item in items:
                            if item.message.body.strip() == body:
                                return
                    return wait
                return ready

            lp = arrival(poster, long_poll, 5)
            gw_watch = arrival(poster, watch(lambda: remote("watcher-w")), 5)
            d_watch = arrival(Space.open("s3://bench/gw", agent="pusher-d"),
                              watch(lambda: Space.open("s3://bench/gw", agent="watcher-d")), 5)
            table("From a post to its arrival (seconds; median / max of 5)", ["receiver", "median", "max"], [
                ["long-poll GET /v1/messages?wait=30 (gateway)", f"**{lp[0]:.3f}**", f"{lp[1]:.3f}"],
                ["collab watch (gateway: long-poll)", f"**{gw_watch[0]:.3f}**", f"{gw_watch[1]:.3f}"],
                ["collab watch (direct: polls every 1 s, backs off)", f"{d_watch[0]:.3f}", f"{d_watch[1]:.3f}"],
            ])
        finally:
            server.stop()


if __name__ == "__main__":
    main()
