#include "gateway/store/sqlite/sqlite_queues.hpp"

#include <map>
#include <sstream>

#include "gateway/store/sqlite/database.hpp"

namespace countylink::store {

using queue::Change;
using queue::ChangeResult;
using queue::Item;
using sqlite::Statement;

namespace {

constexpr const char* kItemColumns =
    "id, queue, study_instance_uid, township, patient_id, patient_name, modality, body_part, "
    "description, acquired_at, priority, instance_count, received_at_ms, last_instance_ms, "
    "queued_at_ms, state, claimed_by, lease_until_ms, claimed_at_ms, reported_at_ms, "
    "result_text, result_code, updated";

Item read_item(const Statement& s) {
    Item i;
    i.id = s.integer(0);
    i.queue = s.text(1);
    i.study_instance_uid = s.text(2);
    i.township = s.text(3);
    i.patient_id = s.text(4);
    i.patient_name = s.text(5);
    i.modality = s.text(6);
    i.body_part = s.text(7);
    i.description = s.text(8);
    i.acquired_at = s.text(9);
    i.priority = static_cast<int>(s.integer(10));
    i.instance_count = s.integer(11);
    i.received_at_ms = s.integer(12);
    i.last_instance_ms = s.integer(13);
    i.queued_at_ms = s.integer(14);
    i.state = s.text(15);
    i.claimed_by = s.text(16);
    i.lease_until_ms = s.integer(17);
    i.claimed_at_ms = s.integer(18);
    i.reported_at_ms = s.integer(19);
    i.result_text = s.text(20);
    i.result_code = s.text(21);
    i.updated = s.integer(22) != 0;
    return i;
}

std::optional<Item> load(sqlite3* db, int64_t id) {
    Statement s(db, std::string("SELECT ") + kItemColumns + " FROM items WHERE id = ?1");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read_item(s);
}

// Runs `update` (bound by `bind`) in a write transaction; `done` if it changed a row,
// otherwise why not, judged from the item as it is.
template <typename Bind>
ChangeResult change(sqlite::Database& database, int64_t id, const std::string& reader,
                    const char* update, Bind bind) {
    std::lock_guard lock(database.mutex());
    sqlite3* db = database.handle();
    sqlite::Transaction transaction(db);
    Statement s(db, update);
    bind(s);
    s.step();
    const bool changed = sqlite3_changes(db) > 0;
    auto item = load(db, id);
    transaction.commit();
    if (changed) return {Change::done, item};
    if (!item) return {Change::not_found, std::nullopt};
    if (item->state == "claimed" && item->claimed_by != reader) return {Change::taken, item};
    return {Change::not_claimable, item};
}

}  // namespace

SqliteReadingQueues::SqliteReadingQueues(const std::filesystem::path& file)
    : db_(std::make_unique<sqlite::Database>(file)) {}

SqliteReadingQueues::~SqliteReadingQueues() = default;

std::vector<queue::QueueSummary> SqliteReadingQueues::summaries() {
    std::lock_guard lock(db_->mutex());
    Statement s(db_->handle(),
                "SELECT queue, priority, COUNT(*), MIN(queued_at_ms) FROM items WHERE state IN "
                "('pending', 'claimed') GROUP BY queue, priority ORDER BY queue, priority");
    std::map<std::string, queue::QueueSummary> out;
    Statement names(db_->handle(), "SELECT DISTINCT queue FROM items ORDER BY queue");
    while (names.step()) out[names.text(0)].name = names.text(0);
    while (s.step()) {
        auto& q = out[s.text(0)];
        q.name = s.text(0);
        q.priorities.push_back(
            {static_cast<int>(s.integer(1)), static_cast<uint64_t>(s.integer(2)), s.integer(3)});
    }
    std::vector<queue::QueueSummary> result;
    for (auto& [name, q] : out) result.push_back(std::move(q));
    return result;
}

queue::ItemPage SqliteReadingQueues::items(const queue::ItemFilter& f) {
    std::string sql = std::string("SELECT ") + kItemColumns + " FROM items WHERE queue = ?1";
    sql += f.state ? " AND state = ?2" : " AND state IN ('pending', 'claimed')";
    if (f.priority) sql += " AND priority = ?3";
    if (f.township) sql += " AND township = ?4";
    // Keyset paging on the sort key (priority, queued_at_ms, id): stable under inserts.
    int64_t after_priority = -1, after_queued = 0, after_id = 0;
    if (!f.cursor.empty()) {
        char dot1 = 0, dot2 = 0;
        std::istringstream in(f.cursor);
        in >> after_priority >> dot1 >> after_queued >> dot2 >> after_id;
        if (!in || dot1 != '.' || dot2 != '.') after_priority = -1;
        sql += " AND (priority, COALESCE(queued_at_ms, 0), id) > (?5, ?6, ?7)";
    }
    sql += " ORDER BY priority, COALESCE(queued_at_ms, 0), id LIMIT ?8";

    std::lock_guard lock(db_->mutex());
    Statement s(db_->handle(), sql);
    s.bind(1, f.queue);
    if (f.state) s.bind(2, *f.state);
    if (f.priority) s.bind(3, int64_t{*f.priority});
    if (f.township) s.bind(4, *f.township);
    if (!f.cursor.empty()) s.bind(5, after_priority).bind(6, after_queued).bind(7, after_id);
    s.bind(8, static_cast<int64_t>(f.limit) + 1);
    queue::ItemPage page;
    while (s.step()) page.items.push_back(read_item(s));
    if (page.items.size() > f.limit) {
        page.items.pop_back();
        const Item& last = page.items.back();
        page.next_cursor = std::to_string(last.priority) + "." + std::to_string(last.queued_at_ms) +
                           "." + std::to_string(last.id);
    }
    return page;
}

std::optional<Item> SqliteReadingQueues::item(int64_t id) {
    std::lock_guard lock(db_->mutex());
    return load(db_->handle(), id);
}

std::vector<queue::ItemInstance> SqliteReadingQueues::instances(int64_t id) {
    std::lock_guard lock(db_->mutex());
    Statement s(db_->handle(),
                "SELECT series_instance_uid, sop_instance_uid FROM item_instances WHERE "
                "item_id = ?1 ORDER BY series_instance_uid, sop_instance_uid");
    s.bind(1, id);
    std::vector<queue::ItemInstance> out;
    while (s.step()) out.push_back({s.text(0), s.text(1)});
    return out;
}

std::vector<std::string> SqliteReadingQueues::study_queues(const std::string& study_instance_uid) {
    std::lock_guard lock(db_->mutex());
    Statement s(db_->handle(),
                "SELECT DISTINCT queue FROM items WHERE study_instance_uid = ?1 ORDER BY queue");
    s.bind(1, study_instance_uid);
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
}

ChangeResult SqliteReadingQueues::claim(int64_t id, const std::string& reader, int64_t now_ms,
                                        int64_t lease_ms) {
    return change(*db_, id, reader,
                  "UPDATE items SET state = 'claimed', claimed_by = ?2, claimed_at_ms = ?3, "
                  "lease_until_ms = ?4 WHERE id = ?1 AND (state = 'pending' OR (state = "
                  "'claimed' AND lease_until_ms < ?3))",
                  [&](Statement& s) {
                      s.bind(1, id).bind(2, reader).bind(3, now_ms).bind(4, now_ms + lease_ms);
                  });
}

ChangeResult SqliteReadingQueues::renew(int64_t id, const std::string& reader, int64_t now_ms,
                                        int64_t lease_ms) {
    return change(*db_, id, reader,
                  "UPDATE items SET lease_until_ms = ?3 WHERE id = ?1 AND state = 'claimed' AND "
                  "claimed_by = ?2",
                  [&](Statement& s) { s.bind(1, id).bind(2, reader).bind(3, now_ms + lease_ms); });
}

ChangeResult SqliteReadingQueues::release(int64_t id, const std::string& reader) {
    return change(*db_, id, reader,
                  "UPDATE items SET state = 'pending', claimed_by = NULL, lease_until_ms = NULL "
                  "WHERE id = ?1 AND state = 'claimed' AND claimed_by = ?2",
                  [&](Statement& s) { s.bind(1, id).bind(2, reader); });
}

ChangeResult SqliteReadingQueues::complete(int64_t id, const std::string& reader, int64_t now_ms,
                                           const std::string& result_text,
                                           const std::string& result_code) {
    return change(
        *db_, id, reader,
        "UPDATE items SET state = 'reported', reported_at_ms = ?3, result_text = ?4, "
        "result_code = ?5, lease_until_ms = NULL WHERE id = ?1 AND state = 'claimed' "
        "AND claimed_by = ?2",
        [&](Statement& s) {
            s.bind(1, id).bind(2, reader).bind(3, now_ms).bind(4, result_text).bind(5, result_code);
        });
}

queue::TickResult SqliteReadingQueues::tick(int64_t now_ms, int64_t stable_after_ms) {
    std::lock_guard lock(db_->mutex());
    sqlite3* db = db_->handle();
    sqlite::Transaction transaction(db);
    queue::TickResult result;
    Statement promote(db, std::string("UPDATE items SET state = 'pending', queued_at_ms = ?1 "
                                      "WHERE state = 'assembling' AND last_instance_ms <= ?2 "
                                      "RETURNING ") +
                              kItemColumns);
    promote.bind(1, now_ms).bind(2, now_ms - stable_after_ms);
    while (promote.step()) result.queued.push_back(read_item(promote));
    Statement expire(db,
                     "UPDATE items SET state = 'pending', claimed_by = NULL, lease_until_ms = "
                     "NULL WHERE state = 'claimed' AND lease_until_ms < ?1");
    expire.bind(1, now_ms);
    expire.step();
    result.leases_expired = static_cast<std::size_t>(sqlite3_changes(db));
    transaction.commit();
    return result;
}

}  // namespace countylink::store
