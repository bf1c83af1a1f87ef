// Compile-time part of Registry::add: reads the factory's signature and the implementation's
// lifecycle members and generates one ServiceMeta per (Impl, interfaces, factory) triple.
//
// The factory's parameters are the dependencies: each is a slot (Ref/Opt/Remote/All/PerCore) or
// Context&, const Requester&, const Properties&. Its result is Impl (constructed in place in the
// instance node, so restarts reuse the memory), std::unique_ptr<Impl>, or a Task of either.
// Impl may define start() and stop() returning void, Result<void>, Task<void> or
// Task<Result<void>>, and bound(X)/unbound(X) per slot (Policy::dynamic, see placement.hpp).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "kio/core/result.hpp"
#include "kio/core/task.hpp"
#include "kio/di/context.hpp"
#include "kio/di/detail/meta.hpp"
#include "kio/di/detail/node.hpp"
#include "kio/di/properties.hpp"
#include "kio/di/slots.hpp"

namespace kio::di::detail {

template <class...>
struct type_list {};

template <class T>
inline constexpr bool dependent_false = false;

// ---- the factory's signature -----------------------------------------------------------------

template <class F>
struct callable;
template <class R, class... A>
struct callable<R (*)(A...)> {
  using result = R;
  using args = std::tuple<A...>;
};
template <class R, class... A>
struct callable<R (*)(A...) noexcept> : callable<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable<R (C::*)(A...)> : callable<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable<R (C::*)(A...) const> : callable<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable<R (C::*)(A...) noexcept> : callable<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable<R (C::*)(A...) const noexcept> : callable<R (*)(A...)> {};

template <class F>
concept SignatureKnown = std::is_pointer_v<F> || requires { &F::operator(); };

template <class F>
struct factory_signature : callable<decltype(&F::operator())> {};
template <class F>
  requires std::is_pointer_v<F>
struct factory_signature<F> : callable<F> {};

enum class ParamKind { slot, context, requester, properties };

template <class A>
constexpr ParamKind param_kind() {
  using D = std::remove_cvref_t<A>;
  if constexpr (slot_traits<D>::is_slot) {
    static_assert(!std::is_lvalue_reference_v<A> || std::is_const_v<std::remove_reference_t<A>>,
                  "kio::di: take a dependency slot by value (Ref<T>), not by non-const reference");
    return ParamKind::slot;
  } else if constexpr (std::is_same_v<A, Context&>) {
    return ParamKind::context;
  } else if constexpr (std::is_same_v<D, Requester> &&
                       (!std::is_reference_v<A> || std::is_const_v<std::remove_reference_t<A>>)) {
    return ParamKind::requester;
  } else if constexpr (std::is_same_v<A, const Properties&> || std::is_same_v<A, Properties>) {
    return ParamKind::properties;
  } else {
    static_assert(dependent_false<A>,
                  "kio::di: a factory parameter must be a dependency slot (Ref, Opt, Remote, All, "
                  "PerCore), Context&, const Requester& or const Properties&");
    return ParamKind::slot;
  }
}

constexpr std::size_t align_up(std::size_t x, std::size_t a) noexcept {
  return (x + a - 1) / a * a;
}

// ---- result and lifecycle members --------------------------------------------------------------

template <class Impl, class R>
struct factory_result {
  static_assert(dependent_false<R>,
                "kio::di: a factory returns Impl, std::unique_ptr<Impl>, Task<Impl> or "
                "Task<std::unique_ptr<Impl>> (Impl: the service's first template argument)");
};
template <class Impl>
struct factory_result<Impl, Impl> {
  static constexpr bool async = false, in_place = true;
};
template <class Impl>
struct factory_result<Impl, std::unique_ptr<Impl>> {
  static constexpr bool async = false, in_place = false;
};
template <class Impl>
struct factory_result<Impl, Task<Impl>> {
  static constexpr bool async = true, in_place = true;
};
template <class Impl>
struct factory_result<Impl, Task<std::unique_ptr<Impl>>> {
  static constexpr bool async = true, in_place = false;
};

template <class R>
constexpr HookKind hook_kind_of(const char* /*which*/) {
  if constexpr (std::is_void_v<R> || std::is_same_v<R, Result<void>>)
    return HookKind::sync;
  else if constexpr (std::is_same_v<R, Task<void>> || std::is_same_v<R, Task<Result<void>>>)
    return HookKind::async;
  else
    static_assert(dependent_false<R>,
                  "kio::di: start()/stop() return void, Result<void>, Task<void> or "
                  "Task<Result<void>>");
  return HookKind::none;
}

inline std::string error_text(std::error_code ec) {
  std::string m = ec.message();
  return m.empty() ? "error " + std::to_string(ec.value()) : m;
}

template <class Impl>
struct Lifecycle {
  static constexpr bool has_start = requires(Impl& i) { i.start(); };
  static constexpr bool has_stop = requires(Impl& i) { i.stop(); };

  template <bool Start>
  static decltype(auto) invoke(Impl& o) {
    if constexpr (Start)
      return o.start();
    else
      return o.stop();
  }
  template <bool Start>
  static std::string run_sync(void* p) {
    Impl& o = *static_cast<Impl*>(p);
    using R = decltype(invoke<Start>(o));
    if constexpr (std::is_void_v<R>) {
      invoke<Start>(o);
      return {};
    } else {
      Result<void> r = invoke<Start>(o);
      return r ? std::string() : error_text(r.error());
    }
  }
  template <bool Start>
  static Task<std::string> run_task(void* p) {
    Impl& o = *static_cast<Impl*>(p);
    using R = decltype(invoke<Start>(o));
    if constexpr (std::is_same_v<R, Task<void>>) {
      co_await invoke<Start>(o);
      co_return std::string();
    } else {
      Result<void> r = co_await invoke<Start>(o);
      co_return r ? std::string() : error_text(r.error());
    }
  }
  template <bool Start>
  static constexpr HookKind kind() {
    if constexpr (Start ? has_start : has_stop)
      return hook_kind_of<decltype(invoke<Start>(std::declval<Impl&>()))>("");
    else
      return HookKind::none;
  }
  template <bool Start>
  static constexpr auto sync_ptr() -> std::string (*)(void*) {
    if constexpr (kind<Start>() == HookKind::sync)
      return &run_sync<Start>;
    else
      return nullptr;
  }
  template <bool Start>
  static constexpr auto task_ptr() -> Task<std::string> (*)(void*) {
    if constexpr (kind<Start>() == HookKind::async)
      return &run_task<Start>;
    else
      return nullptr;
  }
};

template <class Impl, class H>
concept HasHooks = requires(Impl& i, H h) {
  i.bound(h);
  i.unbound(h);
};

inline const Edge* bound_edge(const Slot& s) noexcept {
  for (const Edge* e = s.head; e; e = e->next_cand)
    if (e->bound) return e;
  return nullptr;
}

template <class P>
P make_slot(const Slot& s, Partition* here) {
  using Tr = slot_traits<P>;
  using T = typename Tr::type;
  using Q = typename Tr::qual;
  if constexpr (Tr::kind == SlotKind::ref)
    return SlotAccess::ref<T, Q>(*bound_edge(s));
  else if constexpr (Tr::kind == SlotKind::opt)
    return SlotAccess::opt<T, Q>(bound_edge(s));
  else if constexpr (Tr::kind == SlotKind::remote)
    return SlotAccess::remote<T, Q>(*bound_edge(s), here);
  else
    return SlotAccess::view<P>(s, here);
}

template <class H>
H make_hook_arg(const Edge& e, Partition* here) {
  using Tr = slot_traits<H>;
  using T = typename Tr::type;
  using Q = typename Tr::qual;
  if constexpr (Tr::kind == SlotKind::ref)
    return SlotAccess::ref<T, Q>(e);
  else if constexpr (Tr::kind == SlotKind::opt)
    return SlotAccess::opt<T, Q>(&e);
  else
    return SlotAccess::remote<T, Q>(e, here);
}

// ---- the generated meta
// --------------------------------------------------------------------------

template <class Impl, class Ifaces, class F>
struct MetaFor;

template <class Impl, class... Ifaces, class F>
struct MetaFor<Impl, type_list<Ifaces...>, F> {
  static_assert(SignatureKnown<F>,
                "kio::di: the factory must have one, non-template call operator (no `auto` "
                "parameters): its parameter types are the dependencies");
  static_assert(std::is_object_v<Impl> && !std::is_const_v<Impl>, "kio::di: Impl is a class type");
  static_assert((std::is_convertible_v<Impl*, Ifaces*> && ...),
                "kio::di: Impl must derive from every interface it is published as");
  static_assert(alignof(F) <= alignof(std::max_align_t), "kio::di: over-aligned factory object");

  using Sig = factory_signature<F>;
  using Args = typename Sig::args;
  using Res = factory_result<Impl, typename Sig::result>;
  static constexpr std::size_t n_params = std::tuple_size_v<Args>;
  template <std::size_t I>
  using Arg = std::tuple_element_t<I, Args>;

  template <std::size_t... I>
  static constexpr std::array<ParamKind, n_params> kinds_of(std::index_sequence<I...>) {
    return {param_kind<Arg<I>>()...};
  }
  static constexpr std::array<ParamKind, n_params> kinds =
      kinds_of(std::make_index_sequence<n_params>{});
  static constexpr std::size_t n_slots =
      static_cast<std::size_t>(std::count(kinds.begin(), kinds.end(), ParamKind::slot));
  static_assert(n_slots <= 64, "kio::di: at most 64 dependency slots per factory");
  static constexpr bool uses_context =
      std::find(kinds.begin(), kinds.end(), ParamKind::context) != kinds.end();

  // slot k <-> parameter position
  static constexpr std::array<std::size_t, n_slots + 1> slot_param = [] {
    std::array<std::size_t, n_slots + 1> out{};
    std::size_t k = 0;
    for (std::size_t i = 0; i < n_params; ++i)
      if (kinds[i] == ParamKind::slot) out[k++] = i;
    return out;
  }();
  static constexpr std::array<std::size_t, n_params + 1> slot_of_param = [] {
    std::array<std::size_t, n_params + 1> out{};
    std::size_t k = 0;
    for (std::size_t i = 0; i < n_params; ++i)
      out[i] = kinds[i] == ParamKind::slot ? k++ : 0;
    return out;
  }();
  template <std::size_t K>
  using SlotType = std::remove_cvref_t<Arg<slot_param[K]>>;

  template <std::size_t K>
  static constexpr SlotSpec spec() {
    using Tr = slot_traits<SlotType<K>>;
    return SlotSpec{Tr::kind,        static_cast<std::uint8_t>(slot_param[K]),
                    Tr::min,         type_key<typename Tr::type>(),
                    Tr::qual::value, &type_name<typename Tr::type>};
  }
  template <std::size_t... K>
  static constexpr std::array<SlotSpec, n_slots + 1> specs_of(std::index_sequence<K...>) {
    return {spec<K>()..., SlotSpec{}};
  }
  static constexpr std::array<SlotSpec, n_slots + 1> specs =
      specs_of(std::make_index_sequence<n_slots>{});

  template <class I>
  static constexpr IfaceSpec iface() {
    return IfaceSpec{type_key<I>(), &type_name<I>, [](void* p) noexcept -> void* {
                       return static_cast<I*>(static_cast<Impl*>(p));
                     }};
  }
  static constexpr std::array<IfaceSpec, (sizeof...(Ifaces) == 0 ? 1 : sizeof...(Ifaces))>
  ifaces_of() {
    if constexpr (sizeof...(Ifaces) == 0)
      return {iface<Impl>()};
    else
      return {iface<Ifaces>()...};
  }
  static constexpr auto ifaces = ifaces_of();

  // layout
  static constexpr std::size_t slots_end = sizeof(Node) + n_slots * sizeof(Slot);
  static constexpr std::size_t ctx_offset =
      uses_context ? align_up(slots_end, alignof(Context)) : slots_end;
  static constexpr std::size_t ctx_end = uses_context ? ctx_offset + sizeof(Context) : ctx_offset;
  static constexpr std::size_t obj_offset =
      Res::in_place ? align_up(ctx_end, alignof(Impl)) : ctx_end;
  static constexpr std::size_t node_size = Res::in_place ? obj_offset + sizeof(Impl) : obj_offset;
  static constexpr std::size_t node_align =
      std::max({alignof(Node), Res::in_place ? alignof(Impl) : std::size_t{1},
                uses_context ? alignof(Context) : std::size_t{1}});
  /// A captureless lambda is not stored: a fresh one is as good (saves a word per service).
  static constexpr bool stored_factory =
      !(std::is_empty_v<F> && std::is_default_constructible_v<F>);
  static constexpr std::size_t factory_offset = align_up(sizeof(ServiceDef), alignof(F));
  static constexpr std::size_t def_size =
      stored_factory ? factory_offset + sizeof(F) : sizeof(ServiceDef);

  // building
  template <std::size_t I>
  static decltype(auto) arg(BuildCtx& b) {
    constexpr ParamKind k = kinds[I];
    if constexpr (k == ParamKind::slot)
      return make_slot<SlotType<slot_of_param[I]>>(b.node->slots()[slot_of_param[I]], b.part);
    else if constexpr (k == ParamKind::context)
      return ContextAccess::get(b.ctx);
    else if constexpr (k == ParamKind::requester)
      return ContextAccess::requester(b.node->aux);
    else
      return static_cast<const Properties&>(b.def->properties());
  }
  template <std::size_t... I>
  static decltype(auto) call(BuildCtx& b, std::index_sequence<I...>) {
    if constexpr (stored_factory) {
      F& f = *static_cast<F*>(b.def->factory());
      return f(arg<I>(b)...);
    } else {
      F f{};
      return f(arg<I>(b)...);
    }
  }
  static decltype(auto) call(BuildCtx& b) { return call(b, std::make_index_sequence<n_params>{}); }

  template <class P>
  static void adopt(BuildCtx& b, P p) {
    if (!p) throw std::runtime_error("returned a null std::unique_ptr");
    b.node->obj = p.release();
  }
  static void build(BuildCtx& b) {
    if constexpr (!Res::async) {
      if constexpr (Res::in_place) {
        b.node->obj = ::new (b.storage) Impl(call(b));
      } else {
        adopt(b, call(b));
      }
    }
  }
  static Task<void> build_task(BuildCtx b) {
    if constexpr (Res::async) {
      if constexpr (Res::in_place) {
        Impl v = co_await call(b);
        b.node->obj = ::new (b.storage) Impl(std::move(v));
      } else {
        adopt(b, co_await call(b));
      }
    }
    co_return;
  }
  static void destroy(void* obj, bool in_place) noexcept {
    if (in_place)
      static_cast<Impl*>(obj)->~Impl();
    else
      delete static_cast<Impl*>(obj);
  }

  // Policy::dynamic hooks
  template <std::size_t K>
  static constexpr bool hooks_for() {
    return HasHooks<Impl, typename slot_traits<SlotType<K>>::hook_arg>;
  }
  template <std::size_t... K>
  static constexpr std::uint64_t mask_of(std::index_sequence<K...>) {
    return ((hooks_for<K>() ? (std::uint64_t{1} << K) : 0) | ... | std::uint64_t{0});
  }
  template <std::size_t K>
  static void hook_one(Impl& o, bool bound, const Edge& e, Partition* here) {
    if constexpr (hooks_for<K>()) {
      auto h = make_hook_arg<typename slot_traits<SlotType<K>>::hook_arg>(e, here);
      if (bound)
        o.bound(h);
      else
        o.unbound(h);
    }
  }
  template <std::size_t... K>
  static void hook_dispatch(Impl& o, unsigned slot, bool bound, const Edge& e, Partition* here,
                            std::index_sequence<K...>) {
    ((slot == K ? hook_one<K>(o, bound, e, here) : void()), ...);
    (void)o, (void)slot, (void)bound, (void)e, (void)here;
  }
  static void hook(void* obj, unsigned slot, bool bound, const Edge& e, Partition* here) {
    hook_dispatch(*static_cast<Impl*>(obj), slot, bound, e, here,
                  std::make_index_sequence<n_slots>{});
  }

  static void make_context(void* where, Node* n, Partition* p) {
    if constexpr (uses_context) ContextAccess::make(where, n, p);
  }
  static void drop_context(void* where) noexcept {
    if constexpr (uses_context) ContextAccess::drop(where);
  }

  using L = Lifecycle<Impl>;
  static constexpr ServiceMeta meta{
      &type_name<Impl>,
      type_key<Impl>(),
      ifaces.data(),
      static_cast<std::uint8_t>(ifaces.size()),
      specs.data(),
      static_cast<std::uint8_t>(n_slots),
      uses_context,
      static_cast<std::uint32_t>(ctx_offset),
      static_cast<std::uint32_t>(obj_offset),
      static_cast<std::uint32_t>(node_size),
      static_cast<std::uint32_t>(node_align),
      static_cast<std::uint32_t>(factory_offset),
      static_cast<std::uint32_t>(def_size),
      [](void* f) noexcept {
        if constexpr (stored_factory) static_cast<F*>(f)->~F();
      },
      Res::async,
      &build,
      &build_task,
      L::template kind<true>(),
      L::template kind<false>(),
      L::template sync_ptr<true>(),
      L::template task_ptr<true>(),
      L::template sync_ptr<false>(),
      L::template task_ptr<false>(),
      &destroy,
      mask_of(std::make_index_sequence<n_slots>{}),
      &hook,
      &make_context,
      &drop_context,
  };
};

}  // namespace kio::di::detail
