// Readiness as ops and load balancers see it: /readyz turns 503 while storage is failing.
#pragma once

#include <atomic>
#include <mutex>
#include <string>

namespace countylink::server {

class Health {
  public:
    // Records that storage failed (e.g. disk full) or works again.
    void storage_failed(const std::string& why) {
        std::lock_guard lock(mutex_);
        storage_error_ = why;
        ready_ = false;
    }
    void storage_ok() {
        if (ready_.load()) return;
        std::lock_guard lock(mutex_);
        storage_error_.clear();
        ready_ = true;
    }
    bool ready() const { return ready_.load(); }
    std::string reason() const {
        std::lock_guard lock(mutex_);
        return storage_error_;
    }

  private:
    std::atomic<bool> ready_{true};
    mutable std::mutex mutex_;
    std::string storage_error_;
};

}  // namespace countylink::server
