// Description: CancelSource, CancelToken and CancelRegistration semantics (no runtime needed).
#include <gtest/gtest.h>

#include <vector>

#include "kio/core/cancel.hpp"

namespace {

struct Recorder {
  std::vector<int> calls;
};
template <int N>
void record(void* p) noexcept {
  static_cast<Recorder*>(p)->calls.push_back(N);
}

TEST(Cancel, DefaultTokenIsNeverCancelled) {
  kio::CancelToken t;
  EXPECT_FALSE(t.can_be_cancelled());
  EXPECT_FALSE(t.cancelled());
  kio::CancelRegistration r;
  Recorder rec;
  EXPECT_TRUE(r.arm(t, &record<1>, &rec));
  EXPECT_FALSE(r.armed());
}

TEST(Cancel, CallbacksRunOnceOnRequest) {
  kio::CancelSource src;
  Recorder rec;
  kio::CancelRegistration a, b;
  ASSERT_TRUE(a.arm(src.token(), &record<1>, &rec));
  ASSERT_TRUE(b.arm(src.token(), &record<2>, &rec));
  EXPECT_FALSE(src.token().cancelled());
  src.request_cancel();
  src.request_cancel();
  EXPECT_TRUE(src.token().cancelled());
  ASSERT_EQ(rec.calls.size(), 2u);
  EXPECT_FALSE(a.armed());
  EXPECT_FALSE(b.armed());
}

TEST(Cancel, DisarmedCallbackDoesNotRun) {
  kio::CancelSource src;
  Recorder rec;
  kio::CancelRegistration a, b, c;
  a.arm(src.token(), &record<1>, &rec);
  b.arm(src.token(), &record<2>, &rec);
  c.arm(src.token(), &record<3>, &rec);
  b.disarm();
  src.request_cancel();
  EXPECT_EQ(rec.calls, (std::vector<int>{3, 1}));
}

TEST(Cancel, ArmOnCancelledTokenFails) {
  kio::CancelSource src;
  src.request_cancel();
  kio::CancelRegistration r;
  Recorder rec;
  EXPECT_FALSE(r.arm(src.token(), &record<1>, &rec));
  EXPECT_TRUE(rec.calls.empty());
}

TEST(Cancel, LinkedSourceFollowsParent) {
  kio::CancelSource parent;
  kio::CancelSource child(parent.token());
  Recorder rec;
  kio::CancelRegistration r;
  r.arm(child.token(), &record<7>, &rec);
  parent.request_cancel();
  EXPECT_TRUE(child.cancelled());
  EXPECT_EQ(rec.calls, std::vector<int>{7});
}

TEST(Cancel, ChildCancelDoesNotCancelParent) {
  kio::CancelSource parent;
  kio::CancelSource child(parent.token());
  child.request_cancel();
  EXPECT_FALSE(parent.cancelled());
}

TEST(Cancel, LinkToCancelledParentStartsCancelled) {
  kio::CancelSource parent;
  parent.request_cancel();
  kio::CancelSource child(parent.token());
  EXPECT_TRUE(child.cancelled());
}

TEST(Cancel, DestroyedChildUnlinksFromParent) {
  kio::CancelSource parent;
  {
    kio::CancelSource child(parent.token());
  }
  parent.request_cancel();  // must not touch the destroyed child (ASan would catch it)
  EXPECT_TRUE(parent.cancelled());
}

}  // namespace
