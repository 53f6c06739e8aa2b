"""Sets newsmill's copy-tier timing (2 threads) beside the datasketch peer's: speed ratio and ARI."""
import json
import sys

ours = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
peer = json.loads(open(sys.argv[2]).read())
for o in ours:
    if o.get("bench") != "overlap.copies":
        continue
    print(f"copy tier, {o['threads']} thread(s): newsmill {o['seconds']:.3f} s (ARI {o['ari']:.4f}) vs datasketch "
          f"{peer['seconds']:.3f} s (ARI {peer['ari']:.4f}): {peer['seconds'] / o['seconds']:.1f}x faster")
