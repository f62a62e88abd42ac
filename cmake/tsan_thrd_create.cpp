// Linked into every executable of a ThreadSanitizer build (EDGELINK_SANITIZE contains thread).
//
// librdkafka starts its threads with C11 thrd_create. GCC 12's TSan runtime does not intercept
// it (glibc's thrd_create calls its internal pthread_create), so those threads run without TSan's
// per-thread state and crash in its allocator at their first malloc. These thrd_create,
// thrd_join and thrd_detach, defined in the executable, take precedence over glibc's for
// librdkafka and go through pthread_create/join/detach, which TSan intercepts (so it also sees
// the joins, and no detached thread reads as leaked). glibc's contract is kept: thrd_t is
// pthread_t, and the thread's int result travels as its void* (as glibc's thrd_exit passes it).

#include <pthread.h>

#include <cerrno>
#include <cstdint>
#include <new>

namespace {

// glibc's <threads.h> values.
constexpr int kThrdSuccess = 0;
constexpr int kThrdError = 2;
constexpr int kThrdNomem = 3;

struct Start {
  int (*func)(void*);
  void* arg;
};

void* trampoline(void* p) {
  Start s = *static_cast<Start*>(p);
  delete static_cast<Start*>(p);
  return reinterpret_cast<void*>(static_cast<intptr_t>(s.func(s.arg)));
}

}  // namespace

extern "C" int thrd_create(pthread_t* thr, int (*func)(void*), void* arg) {
  auto* start = new (std::nothrow) Start{func, arg};
  if (start == nullptr) {
    return kThrdNomem;
  }
  int err = ::pthread_create(thr, nullptr, trampoline, start);
  if (err != 0) {
    delete start;
    return err == EAGAIN || err == ENOMEM ? kThrdNomem : kThrdError;
  }
  return kThrdSuccess;
}

extern "C" int thrd_join(pthread_t thr, int* res) {
  void* result = nullptr;
  if (::pthread_join(thr, &result) != 0) {
    return kThrdError;
  }
  if (res != nullptr) {
    *res = static_cast<int>(reinterpret_cast<intptr_t>(result));
  }
  return kThrdSuccess;
}

extern "C" int thrd_detach(pthread_t thr) {
  return ::pthread_detach(thr) == 0 ? kThrdSuccess : kThrdError;
}
