#include "kio/net/tcp_server.hpp"

#include "kio/net/detail/socket.hpp"

namespace kio::net {

Result<TcpServer> TcpServer::bind(const Address& addr, const ListenOptions& opts, unsigned cores) {
  if (cores == 0) cores = core_count();
  if (cores == 0) return std::errc::invalid_argument;  // not on a worker: say how many
  if (cores > 1 && !opts.reuse_port) return std::errc::invalid_argument;
  std::vector<int> fds;
  fds.reserve(cores);
  Address where = addr;
  ListenOptions rest = opts;  // the first socket checks the port is free; the others join it
  rest.share_port = true;
  for (unsigned c = 0; c < cores; ++c) {
    auto fd = detail::open_listener(where, c == 0 ? opts : rest);
    if (!fd) {
      for (int f : fds)
        ::close(f);
      return fd.error();
    }
    fds.push_back(*fd);
    if (c == 0) {
      auto bound = detail::local_address(*fd);
      if (!bound) {
        for (int f : fds)
          ::close(f);
        return bound.error();
      }
      where = *bound;  // port 0: every core listens on the port the kernel picked
    }
  }
  return TcpServer(std::move(fds), where, opts);
}

Task<void> TcpServer::stop_all(Shared& sh) {
  for (unsigned c = 0; c < sh.slots.size(); ++c) {
    try {
      co_await submit_to(c, [&sh, c] {
        detail::ServerSlot& slot = sh.slots[c];
        slot.stop_requested = true;
        if (slot.stop) slot.stop->request_cancel();
      });
    } catch (...) {
      // That core is stopping: its shutdown token ends its loop anyway.
    }
  }
  sh.group.done();
}

void TcpServer::on_stop(void* p) noexcept {
  auto* sh = static_cast<Shared*>(p);
  if (kio::detail::this_executor("kio::net::TcpServer").stopping()) return;
  ++sh->group.active;
  try {
    kio::spawn(stop_all(*sh));
  } catch (...) {
    sh->group.done();
  }
}

}  // namespace kio::net
