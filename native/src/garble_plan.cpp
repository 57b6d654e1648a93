// Scheduling a Boolean circuit for batched garbling: AND gates of one AND depth are independent,
// so they form one run the kernels hash with many AES blocks in flight; wires get label slots
// that are reused once dead, so the working set of a big circuit stays in cache.
#include <algorithm>
#include <cstring>

#include "mpcn/gc.hpp"

namespace mpcn {

GcPlan gc_compile(const uint8_t* op, const int32_t* a, const int32_t* b, const int32_t* c, size_t n_gates,
                  size_t n_wires, size_t n_in, size_t n_out, bool reuse) {
  // AND depth of every wire, and the sort key of every gate: 2*depth for ANDs, 2*depth+1 else.
  std::vector<int32_t> lvl(n_wires, 0);
  std::vector<int64_t> key(n_gates);
  int64_t max_key = 0;
  for (size_t g = 0; g < n_gates; ++g) {
    int32_t d = 0;
    if (op[g] != 4) {
      d = lvl[a[g]];
      if (b[g] >= 0) d = std::max(d, lvl[b[g]]);
    }
    if (op[g] == 1) ++d;
    lvl[c[g]] = d;
    key[g] = 2 * int64_t(d) + (op[g] == 1 ? 0 : 1);
    max_key = std::max(max_key, key[g]);
  }
  // Stable counting sort by key: a valid topological order (a gate's inputs have a smaller key,
  // or the same key and an earlier position among the non-AND gates of that level).
  std::vector<size_t> count(size_t(max_key) + 2, 0);
  for (size_t g = 0; g < n_gates; ++g) ++count[size_t(key[g]) + 1];
  for (size_t k = 1; k < count.size(); ++k) count[k] += count[k - 1];
  std::vector<int32_t> order(n_gates);
  for (size_t g = 0; g < n_gates; ++g) order[count[size_t(key[g])]++] = int32_t(g);

  GcPlan plan;
  plan.op.resize(n_gates);
  plan.a.resize(n_gates);
  plan.b.resize(n_gates);
  plan.c.resize(n_gates);
  // AND runs: maximal stretches of ANDs with the same key.
  std::vector<int32_t> run_end(n_gates, -1);  // for each position, the end of its AND run
  for (size_t p = 0; p < n_gates;) {
    size_t g = order[p];
    if (op[g] != 1) { ++p; continue; }
    size_t q = p;
    while (q < n_gates && op[order[q]] == 1 && key[order[q]] == key[g]) ++q;
    plan.runs.push_back(int32_t(p));
    plan.runs.push_back(int32_t(q));
    for (size_t r = p; r < q; ++r) run_end[r] = int32_t(q);
    p = q;
  }

  // Last schedule position reading each wire (reads inside an AND run count at the run's last
  // position, so no slot is recycled while the run's hashes are in flight).
  const int32_t kNever = -1;
  std::vector<int32_t> last(n_wires, kNever);
  for (size_t p = 0; p < n_gates; ++p) {
    size_t g = order[p];
    int32_t at = run_end[p] >= 0 ? run_end[p] - 1 : int32_t(p);
    if (op[g] != 4) last[a[g]] = std::max(last[a[g]], at);
    if (op[g] != 4 && b[g] >= 0) last[b[g]] = std::max(last[b[g]], at);
  }
  std::vector<char> is_out(n_wires, 0);
  for (size_t o = 0; o < n_out; ++o) is_out[n_wires - n_out + o] = 1;

  std::vector<int32_t> slot(n_wires, -1);
  std::vector<int32_t> free_slots;
  int32_t next = 0;
  auto alloc = [&]() -> int32_t {
    if (reuse && !free_slots.empty()) {
      int32_t s = free_slots.back();
      free_slots.pop_back();
      return s;
    }
    return next++;
  };
  // Wires to free after position p: bucketed by position (+1 for "before the first gate").
  std::vector<std::vector<int32_t>> dying(n_gates + 1);
  auto schedule_free = [&](int32_t w, int32_t at) {
    if (!reuse || is_out[w]) return;
    dying[size_t(at + 1)].push_back(w);
  };
  if (reuse) {
    for (size_t w = 0; w < n_in; ++w) slot[w] = alloc();
  } else {
    for (size_t w = 0; w < n_wires; ++w) slot[w] = int32_t(w);
    next = int32_t(n_wires);
  }
  for (size_t w = 0; w < n_in; ++w) schedule_free(int32_t(w), last[w]);
  if (reuse)
    for (int32_t w : dying[0]) free_slots.push_back(slot[w]);

  for (size_t p = 0; p < n_gates; ++p) {
    size_t g = order[p];
    int32_t w = c[g];
    if (reuse) slot[w] = alloc();
    int32_t at = run_end[p] >= 0 ? run_end[p] - 1 : int32_t(p);
    schedule_free(w, std::max(last[w], at));
    uint8_t o = op[g];
    if (o == 4) {
      plan.op[p] = a[g] ? kConst1 : kConst0;
      plan.a[p] = a[g];
      plan.b[p] = -1;
      ++plan.n_const;
    } else {
      plan.op[p] = o == 0 ? kXor : o == 1 ? kAnd : o == 2 ? kInv : kCopy;
      plan.a[p] = slot[a[g]];
      plan.b[p] = b[g] >= 0 ? slot[b[g]] : -1;
      if (o == 1) ++plan.n_and;
    }
    plan.c[p] = slot[w];
    if (reuse)
      for (int32_t d : dying[p + 1]) free_slots.push_back(slot[d]);
  }
  plan.n_slots = size_t(next);
  plan.in_slots.resize(n_in);
  for (size_t w = 0; w < n_in; ++w) plan.in_slots[w] = slot[w];
  plan.out_slots.resize(n_out);
  for (size_t o = 0; o < n_out; ++o) plan.out_slots[o] = slot[n_wires - n_out + o];
  return plan;
}

}  // namespace mpcn
