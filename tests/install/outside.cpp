// Description: a program outside the project, built only from `pkg-config --cflags --libs kio`.
#include <kio/kio.hpp>

#include <cstdio>

kio::Task<int> answer() {
  co_await kio::yield();
  co_return 42;
}

int main() {
  kio::Runtime rt(kio::RuntimeOptions{.workers = 1});
  int v = rt.block_on(answer());
  std::printf("outside: %d\n", v);
  return v == 42 ? 0 : 1;
}
