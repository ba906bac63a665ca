"""Report on a leader probe log (leader_probe.sh): the longest time without
a leader, and how many servers were down at once. Exits 1 when more than one
server was down in a round or the cluster went without a leader for longer
than MAX_GAP seconds (one election: raft's timeouts are about a second, and a
restarted leader's successor needs a few more)."""

import sys

MAX_GAP = 10.0


def main(path: str) -> int:
    rounds = []
    with open(path, encoding="utf-8") as log:
        lines = log.read().splitlines()
    for line in lines:
        stamp, *answers = line.split()
        leaders = [a for a in answers if a not in ("DOWN", "NONE", "SLOW")]
        # A leader is known when a majority of the servers agree on one.
        majority = any(leaders.count(a) > len(answers) // 2 for a in set(leaders))
        rounds.append((int(stamp) / 1000, majority, answers.count("DOWN")))
    if not rounds:
        print("no probe rounds recorded")
        return 1
    longest, start = 0.0, None
    for stamp, has_leader, _ in rounds:
        if not has_leader and start is None:
            start = stamp
        elif has_leader and start is not None:
            longest, start = max(longest, stamp - start), None
    if start is not None:
        longest = max(longest, rounds[-1][0] - start)
    most_down = max(down for _, _, down in rounds)
    for line, (_, _, down) in zip(lines, rounds, strict=True):
        if down > 1:
            print(f"more than one server down: {line}")
    span = rounds[-1][0] - rounds[0][0]
    print(
        f"{len(rounds)} rounds over {span:.1f}s; longest leaderless gap {longest:.2f}s; "
        f"most servers down at once {most_down}"
    )
    return 0 if longest <= MAX_GAP and most_down <= 1 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
