// kio/di — a dependency-injection service registry over the per-core executors.
//
// A service says what it needs in its factory's parameter list; the registry checks the whole
// graph before anything runs, builds each instance on its core, starts instances in dependency
// order (independent ones concurrently), stops them in reverse, and keeps the graph consistent
// while services are added, stopped or removed at run time.
//
//   namespace di = kio::di;
//   di::Registry reg;
//   auto cfg = reg.add<Config>(di::on_core(0), [] { return Config::load("app.toml"); });
//   reg.add<Counter>(di::every_core, [] { return Counter{}; });
//   reg.add<Routes, IRoutes>(di::every_core,                          // published as IRoutes
//       [](di::Ref<Counter> here, di::Remote<Config> cfg, di::All<IPlugin> plugins) {
//         return Routes(here, cfg, plugins); });
//   di::StartReport r = co_await reg.start();   // GraphError (every problem) before any factory
//   if (!r) std::fputs(r.message().c_str(), stderr);   // failed / blocked ones named; rest runs
//   ...
//   co_await reg.stop();                         // dependents before providers, each on its core
//
// The pieces
// ----------
// * Registry             add, start/stop, runtime stop(id)/start(id)/remove(id), post_*,
//                        wait_for, local, get, snapshot, dump.                     (registry.hpp)
// * Placement            every_core / on_core(c); Sharing::per_requester; Policy. (placement.hpp)
// * Slots                Ref, Opt, Remote, All, PerCore: the factory's parameters.  (slots.hpp,
//                        remote.hpp)
// * named<"x">           qualifiers on slots; Options::qualifier on providers.    (qualifier.hpp)
// * Properties, where<T> properties on services, filters on consumers.   (properties.hpp,
//                        filter.hpp)
// * Options              name, qualifier, properties, primary, sharing, policy.     (options.hpp)
// * Context, Requester   a service's spawn/subscribe/publish/registry; who asked for a
//                        per-requester instance.                                     (context.hpp)
// * State, snapshot      lifecycle states; ServiceInfo, StartReport, DumpFormat.     (state.hpp,
//                        snapshot.hpp)
// * GraphError           every graph problem at once, with names.                    (errors.hpp)
// * EventChannel         the typed per-core event queue.                             (events.hpp)
//
// Choosing a slot: same core and required -> Ref<T>; maybe absent -> Opt<T>; maybe on another
// core -> Remote<T> (calls are submit_to messages); every provider -> All<T>; an every_core
// provider's instance on every core -> PerCore<T>.
//
// Common rules
// ------------
// * Core ownership: an instance is built, started, stopped and destroyed on its own core and
//   only touched there; a Ref/Opt joins two instances of the same core (checked: a cross-core
//   Ref is a GraphError naming both services). Each core's share of the graph is kept by that
//   core; cores exchange messages, never shared mutable state.
// * Lifecycle: waiting -> starting -> active -> stopping -> stopped | waiting, or failed /
//   blocked (state.hpp). Dependents stop before the providers they hold; the Context's tasks are
//   cancelled and joined before stop() runs; a Remote call reaching a stopping or removed
//   provider ends with operation_canceled.
// * Errors name things: graph problems (missing, ambiguous, cycle with the parameter on each
//   edge, cross-core reference, placement) come all at once from start(); a failing factory or
//   start() is a state with its message, its dependents are blocked, the rest runs.
// * Requests made from inside a transition (factory, start(), stop(), hooks, Context tasks)
//   are queued behind it; nothing re-enters a running factory or hook.
// * Cost: O(services + edges) to start and stop; a transition touches its instance's edges only
//   and allocates nothing; no UUIDs, no std::function per edge.
// * The registry must be stopped before it is destroyed and before the runtime stops.
#pragma once

#include "kio/di/context.hpp"
#include "kio/di/errors.hpp"
#include "kio/di/events.hpp"
#include "kio/di/filter.hpp"
#include "kio/di/options.hpp"
#include "kio/di/placement.hpp"
#include "kio/di/properties.hpp"
#include "kio/di/qualifier.hpp"
#include "kio/di/registry.hpp"
#include "kio/di/remote.hpp"
#include "kio/di/service_id.hpp"
#include "kio/di/slots.hpp"
#include "kio/di/snapshot.hpp"
#include "kio/di/state.hpp"
