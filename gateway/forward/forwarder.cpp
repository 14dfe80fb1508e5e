#include "gateway/forward/forwarder.hpp"
#include "gateway/server/clock.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <random>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "codecs/dicom/part10.hpp"
#include "gateway/dicom/store_scu.hpp"
#include "gateway/forward/stow_client.hpp"
#include "gateway/server/run_on.hpp"
#include "gateway/store/stored_dataset.hpp"

namespace countylink::forward {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

double jitter() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.8, 1.2)(rng);
}

}  // namespace

int64_t backoff_ms(const config::ForwardSettings& s, int attempts, double jitter_factor) {
    const double base =
        static_cast<double>(s.backoff_initial_s) * std::pow(2.0, std::min(attempts, 30));
    const double capped = std::min(base, static_cast<double>(s.backoff_max_s));
    return static_cast<int64_t>(capped * jitter_factor * 1000.0);
}

namespace {

bool delivered_ok(const dicom::SendResult& r) {
    return r.sent && (r.status == 0 || (r.status & 0xF000) == 0xB000);
}

// Writes one object's outcome to the outbox; runs on a worker (SQLite).
void record_outcome(Outbox& outbox, const config::ForwardSettings& settings, const OutboxItem& item,
                    const dicom::SendResult& r) {
    const int64_t now = server::unix_now_ms();
    if (delivered_ok(r)) {
        outbox.delivered(item.id, now);
    } else if (r.permanent) {
        outbox.dead(item.id, r.error);
    } else {
        outbox.failed(item.id, now + backoff_ms(settings, item.attempts, jitter()), r.error);
    }
}

}  // namespace

void Forwarder::start(asio::io_context& io) {
    for (const auto& destination : config_.forward.destinations) {
        asio::co_spawn(io, run(destination), asio::detached);
    }
}

awaitable<void> Forwarder::run(const config::ForwardDestination& destination) {
    asio::steady_timer idle(co_await asio::this_coro::executor);
    for (;;) {
        std::vector<OutboxItem> items;
        std::size_t taken = 0;
        try {
            const int64_t now = server::unix_now_ms();
            const std::size_t batch = config_.forward.batch;
            auto& outbox = outbox_;
            const std::string& name = destination.name;
            items = co_await server::run_on(
                workers_, [&outbox, &name, now, batch] { return outbox.due(name, now, batch); });
            taken = items.size();
            if (!items.empty()) co_await send_batch(destination, std::move(items));
            const auto backlog =
                co_await server::run_on(workers_, [&outbox] { return outbox.backlog(); });
            for (const auto& b : backlog) {
                if (b.destination != destination.name) continue;
                metrics_.forward_backlog.with({b.destination}).set(static_cast<int64_t>(b.pending));
                metrics_.forward_oldest_age.with({b.destination})
                    .set(b.oldest_pending_ms ? (now - b.oldest_pending_ms) / 1000 : 0);
                metrics_.forward_dead.with({b.destination}).set(static_cast<int64_t>(b.dead));
            }
        } catch (const std::exception& e) {
            log_.error("forward to ", destination.name, ": ", e.what());
        }
        if (taken < config_.forward.batch) {
            // Nothing (more) due: look again in a second. New items wait at most that long.
            idle.expires_after(std::chrono::seconds(1));
            co_await idle.async_wait(asio::use_awaitable);
        }
    }
}

// One entry per object sent on (or given up on): the gateway is the requestor, the
// destination the other participant.
void Forwarder::audit_item(const config::ForwardDestination& destination, const OutboxItem& item,
                           const std::string& failure) {
    audit::Event e;
    e.type = audit::EventType::forward;
    e.user = config_.dicom.ae_title;
    e.role = "gateway";
    e.destination = destination.name;
    e.sop_instance_uids.push_back(item.sop_instance_uid);
    e.outcome = failure.empty() ? audit::Outcome::success : audit::Outcome::serious_failure;
    e.description = failure.empty() ? "delivered" : "dead-lettered: " + failure;
    audit_.record(e);
}

awaitable<void> Forwarder::send_batch(const config::ForwardDestination& destination,
                                      std::vector<OutboxItem> items) {
    const int64_t start = server::unix_now_ms();
    const int64_t deadline_ms = int64_t{config_.forward.retry_deadline_s} * 1000;
    std::vector<OutboxItem> sendable;
    std::vector<dicom::OutgoingObject> objects;
    for (auto& item : items) {
        if (start - item.created_ms > deadline_ms) {
            const std::string why = "retry deadline passed; last error: " + item.last_error;
            co_await server::run_on(workers_, [&] {
                outbox_.dead(item.id, why);
                return 0;
            });
            metrics_.forward_attempts_total.with({destination.name, "dead"}).inc();
            log_.error("forward to ", destination.name, ": instance ", item.sop_instance_uid,
                       " dead-lettered: ", why);
            audit_item(destination, item, why);
            continue;
        }
        // C-STORE sends the dataset; STOW-RS sends the whole Part-10 file.
        std::function<std::size_t(std::span<std::byte>)> read;
        if (destination.type == "stowrs") {
            auto blob = std::make_shared<store::BlobReader>(blobs_.open(item.sha256));
            read = [blob](std::span<std::byte> out) { return blob->read(out); };
        } else {
            auto dataset = std::make_shared<store::StoredDataset>(blobs_.open(item.sha256));
            read = [dataset](std::span<std::byte> out) { return dataset->read(out); };
        }
        objects.push_back(
            {item.sop_class_uid, item.sop_instance_uid, item.transfer_syntax_uid, std::move(read)});
        sendable.push_back(std::move(item));
    }
    if (objects.empty()) co_return;
    // Each C-STORE outcome is written to the outbox as its response arrives, not after the
    // batch: a crash or a broken association later in the batch then resends only the objects
    // the destination had not confirmed (at most the one in flight is sent twice).
    std::vector<std::optional<dicom::SendResult>> recorded(sendable.size());
    for (std::size_t i = 0; i < objects.size(); ++i) {
        objects[i].on_result = [&outbox = outbox_, &settings = config_.forward, &sendable,
                                &recorded, i](const dicom::SendResult& r) {
            record_outcome(outbox, settings, sendable[i], r);
            recorded[i] = r;
        };
    }

    std::vector<dicom::SendResult> results;
    std::string association_error;
    try {
        const auto executor = co_await asio::this_coro::executor;
        if (destination.type == "stowrs") {
            const StowPeer peer = stow_peer_from_url(destination.url, destination.token);
            results = co_await stow_objects(executor, workers_, peer, objects);
        } else {
            const dicom::ScuPeer peer{
                destination.host, destination.port, destination.ae_title,
                destination.calling_ae.empty() ? config_.dicom.ae_title : destination.calling_ae,
                std::chrono::seconds(30)};
            results = co_await dicom::send_objects(executor, workers_, peer, objects);
        }
    } catch (const std::exception& e) {
        association_error = e.what();
    }
    const int64_t end = server::unix_now_ms();
    std::size_t unconfirmed = 0;
    for (std::size_t i = 0; i < sendable.size(); ++i) {
        if (recorded[i]) continue;
        if (association_error.empty() && i < results.size()) {
            // A sender without per-object outcomes (STOW-RS): record them now.
            co_await server::run_on(workers_, [&] {
                record_outcome(outbox_, config_.forward, sendable[i], results[i]);
                return 0;
            });
            recorded[i] = results[i];
            continue;
        }
        // The destination is unreachable or broke the association: the items it did not
        // confirm wait their backoff, which pauses this destination alone.
        const int64_t next = end + backoff_ms(config_.forward, sendable[i].attempts, jitter());
        co_await server::run_on(workers_, [&] {
            outbox_.failed(sendable[i].id, next, association_error);
            return 0;
        });
        ++unconfirmed;
    }
    if (unconfirmed > 0) {
        metrics_.forward_attempts_total.with({destination.name, "failed"}).inc(unconfirmed);
        log_.warn("forward to ", destination.name, " failed for ", unconfirmed,
                  " objects: ", association_error);
    }
    std::size_t delivered = 0;
    for (std::size_t i = 0; i < sendable.size(); ++i) {
        if (!recorded[i]) continue;
        const auto& item = sendable[i];
        const auto& r = *recorded[i];
        const bool ok = delivered_ok(r);
        const char* outcome = ok ? "delivered" : r.permanent ? "dead" : "failed";
        metrics_.forward_attempts_total.with({destination.name, outcome}).inc();
        if (ok || r.permanent) audit_item(destination, item, ok ? "" : r.error);
        if (ok) {
            ++delivered;
            metrics_.stage_latency.with({"forward"})
                .observe(static_cast<double>(end - item.created_ms) / 1000.0);
        } else {
            log_.warn("forward to ", destination.name, ": instance ", item.sop_instance_uid, " ",
                      outcome, ": ", r.error);
        }
    }
    metrics_.forward_send_seconds.with({destination.name})
        .observe(static_cast<double>(end - start) / 1000.0);
    log_.info("forwarded ", delivered, "/", sendable.size(), " objects to ", destination.name,
              " in ", static_cast<double>(end - start) / 1000.0, " s");
}

}  // namespace countylink::forward
