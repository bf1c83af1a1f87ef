// Description: memory the registry holds per idle service, measured (its own binary, so no
// earlier test's heap state blurs the malloc statistics).
#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdio>

#include "co_assert.hpp"
#include "kio/kio.hpp"
#include "one_worker.hpp"

namespace di = kio::di;

namespace {

struct Leaf {
  int v = 0;
};
struct Idle {
  explicit Idle(di::Ref<Leaf> l) : leaf(l) {}
  di::Ref<Leaf> leaf;
};

/// Heap in use (malloc) plus the registries' own blocks (node slabs and registration arenas,
/// allocated capacity including unused tails), less the coroutine frame pool's slabs (kept until
/// a core idles long enough to release them; the frames the registry's tasks used are back in them):
/// what registries hold.
double held_bytes() {
  return static_cast<double>(mallinfo2().uordblks) +
         static_cast<double>(kio::di::detail::block_bytes()) -
         static_cast<double>(kio::detail::FramePool::slab_bytes_total());
}

#if defined(__SANITIZE_ADDRESS__)
#define KIO_DI_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KIO_DI_ASAN 1
#endif
#endif

TEST(Memory, PerIdleServiceAndAllGivenBack) {
#ifdef KIO_DI_ASAN
  GTEST_SKIP() << "ASan replaces malloc and its statistics (mallinfo2); measured in the gcc build";
#endif
  kio_test::rt().block_on([]() -> kio::Task<void> {
    constexpr int n = 100'000;  // large enough that block tails hardly matter
    const double before = held_bytes();
    {
      di::Registry reg;
      reg.add<Leaf>(di::every_core, [] { return Leaf{}; });
      for (int i = 0; i < n; ++i)
        reg.add<Idle>(di::every_core, [](di::Ref<Leaf> l) { return Idle(l); });
      CO_ASSERT(static_cast<bool>(co_await reg.start()));
      const double per = (held_bytes() - before) / n;
      std::printf(
          "memory per idle service (one Ref slot, running): %.0f bytes, of which the "
          "instance is %zu\n",
          per, sizeof(Idle));
      EXPECT_LE(per, 256.0 + sizeof(Idle));
      co_await reg.stop();
    }
    EXPECT_LE(held_bytes() - before, 64.0 * 1024);  // given back with the Registry
  }());
}

}  // namespace
