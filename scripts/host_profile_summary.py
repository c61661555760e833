#!/usr/bin/env python3
"""Where the host's time goes in `msym bench`'s timed steps: a summary of the folded stacks that
MSYM_HOST_PROFILE=DIR writes (crates/cli/src/host_profile.rs, one DIR/host-*.folded per timing).

    python3 scripts/host_profile_summary.py FILE.folded [TOP]

Prints the samples (1 ms of CPU time each) by thread; by the crate of the innermost frame
("self": where the CPU was); by crate inclusive (a stack counts once for each crate on it);
the TOP functions by self and by inclusive samples, with generic arguments dropped so that
one function's instances add up; and, for each thread with at least 10% of the samples, its own
top functions by self samples (session 17 read R = 1's bound from those: the main thread's
time inside the calls that hand work to cubecl's device thread, and that thread's own work).
"""
import collections
import re
import sys


def strip_generics(text):
    out, depth = [], 0
    for ch in text:
        if ch == "<":
            depth += 1
        elif ch == ">" and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def short(frame):
    """A frame's name without generic arguments or closure numbers: `a::b::<T>::f` -> `a::b::f`,
    `<a::X<T> as b::Y<T>>::f` -> `<a::X as b::Y>::f`."""
    head = ""
    if frame.startswith("<"):
        depth = 0
        for j, ch in enumerate(frame):
            depth += ch == "<"
            depth -= ch == ">"
            if depth == 0:
                head, frame = "<" + strip_generics(frame[1:j]) + ">", frame[j + 1 :]
                break
    name = head + strip_generics(frame)
    name = re.sub(r"\{\{?closure(#\d+)?\}?\}", "{closure}", name)
    name = re.sub(r"(::)+", "::", name).rstrip(":")
    return name or frame


def crate(frame):
    """The crate a frame belongs to: the first path segment of its name; for `<T as Trait>::f`
    T's where T is a path, else the trait's (`<i64 as core::clone::Clone>` is core); `core`
    for a method of a primitive (`<*mut _>::offset`); '?' for an unresolved address; 'C' for
    a symbol without a path (libc, the CUDA driver)."""
    m = re.match(r"<(.+?) as (.+?)>::", frame)
    if m:
        ty, tr = m.groups()
        frame = ty.lstrip("&*").replace("mut ", "").replace("dyn ", "") if "::" in ty else tr
    elif frame.startswith("<"):
        inner = frame[1:].lstrip("&*").replace("mut ", "").replace("dyn ", "")
        if "::" not in inner.split(">")[0]:
            return "core"
        frame = inner
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", frame)
    if m:
        return m.group(1)
    if frame.startswith("0x") or frame in ("", "?"):
        return "?"
    return "C"


def read(path):
    stacks = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            text, _, count = line.rpartition(" ")
            frames = text.split(";")
            stacks.append((frames[0], frames[1:], int(count)))
    return stacks


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    stacks = read(sys.argv[1])
    total = sum(c for _, _, c in stacks)
    if total == 0:
        sys.exit(f"{sys.argv[1]}: no samples")
    threads, self_crate, incl_crate = collections.Counter(), collections.Counter(), collections.Counter()
    self_fn, incl_fn = collections.Counter(), collections.Counter()
    thread_self = collections.defaultdict(collections.Counter)
    for thread, frames, c in stacks:
        threads[thread] += c
        leaf = frames[-1] if frames else "?"
        self_crate[crate(leaf)] += c
        self_fn[short(leaf)] += c
        thread_self[thread][short(leaf)] += c
        for k in {crate(f) for f in frames}:
            incl_crate[k] += c
        for k in {short(f) for f in frames}:
            incl_fn[k] += c

    def table(title, counter, n, skip_all=True, of=None):
        # what every stack holds (main, the bench loop) says nothing about where time goes
        print(f"\n{title}")
        for k, c in [kc for kc in counter.most_common() if kc[1] < total or not skip_all][:n]:
            print(f"  {100 * c / (of or total):5.1f}%  {c:7d}  {k}")

    print(f"{sys.argv[1]}: {total} samples")
    table("by thread", threads, 10, skip_all=False)
    table("by crate, self (the innermost frame)", self_crate, 15)
    table("by crate, inclusive (each crate once a stack; those on every stack left out)", incl_crate, 20)
    table(f"top {top} functions, self", self_fn, top)
    table(f"top {top} functions, inclusive (those on every stack left out)", incl_fn, top)
    for thread, n in threads.most_common():
        if n >= 0.1 * total:
            title = f"thread {thread} ({n} samples): top {top} functions, self (% of the thread's samples)"
            table(title, thread_self[thread], top, skip_all=False, of=n)


if __name__ == "__main__":
    main()
