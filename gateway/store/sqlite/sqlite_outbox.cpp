#include "gateway/store/sqlite/sqlite_outbox.hpp"

#include "gateway/store/sqlite/database.hpp"

namespace countylink::store {

using forward::OutboxItem;
using sqlite::Statement;

namespace {

constexpr const char* kColumns =
    "id, destination, sop_instance_uid, sop_class_uid, transfer_syntax_uid, sha256, priority, "
    "created_ms, next_attempt_ms, COALESCE(delivered_ms, 0), attempts, state, last_error";

OutboxItem read_item(const Statement& s) {
    OutboxItem i;
    i.id = s.integer(0);
    i.destination = s.text(1);
    i.sop_instance_uid = s.text(2);
    i.sop_class_uid = s.text(3);
    i.transfer_syntax_uid = s.text(4);
    i.sha256 = s.text(5);
    i.priority = static_cast<int>(s.integer(6));
    i.created_ms = s.integer(7);
    i.next_attempt_ms = s.integer(8);
    i.delivered_ms = s.integer(9);
    i.attempts = static_cast<int>(s.integer(10));
    i.state = s.text(11);
    i.last_error = s.text(12);
    return i;
}

}  // namespace

SqliteOutbox::SqliteOutbox(const std::filesystem::path& file)
    : db_(std::make_unique<sqlite::Database>(file)) {}

SqliteOutbox::~SqliteOutbox() = default;

std::vector<OutboxItem> SqliteOutbox::due(const std::string& destination, int64_t now_ms,
                                          std::size_t limit) {
    std::lock_guard lock(db_->mutex());
    Statement s(db_->handle(), std::string("SELECT ") + kColumns +
                                   " FROM forward_items WHERE destination = ?1 AND state = "
                                   "'pending' AND next_attempt_ms <= ?2 ORDER BY priority, "
                                   "created_ms, id LIMIT ?3");
    s.bind(1, destination).bind(2, now_ms).bind(3, static_cast<int64_t>(limit));
    std::vector<OutboxItem> out;
    while (s.step()) out.push_back(read_item(s));
    return out;
}

void SqliteOutbox::delivered(int64_t id, int64_t now_ms) {
    std::lock_guard lock(db_->mutex());
    Statement s(db_->handle(),
                "UPDATE forward_items SET state = 'delivered', delivered_ms = ?2, attempts = "
                "attempts + 1, last_error = '' WHERE id = ?1");
    s.bind(1, id).bind(2, now_ms);
    s.step();
}

void SqliteOutbox::failed(int64_t id, int64_t next_attempt_ms, const std::string& error) {
    std::lock_guard lock(db_->mutex());
    Statement s(db_->handle(),
                "UPDATE forward_items SET attempts = attempts + 1, next_attempt_ms = ?2, "
                "last_error = ?3 WHERE id = ?1");
    s.bind(1, id).bind(2, next_attempt_ms).bind(3, error);
    s.step();
}

void SqliteOutbox::dead(int64_t id, const std::string& error) {
    std::lock_guard lock(db_->mutex());
    Statement s(db_->handle(),
                "UPDATE forward_items SET state = 'dead', attempts = attempts + 1, last_error = "
                "?2 WHERE id = ?1");
    s.bind(1, id).bind(2, error);
    s.step();
}

std::vector<OutboxItem> SqliteOutbox::list(const std::string& destination, const std::string& state,
                                           std::size_t limit) {
    std::lock_guard lock(db_->mutex());
    Statement s(db_->handle(), std::string("SELECT ") + kColumns +
                                   " FROM forward_items WHERE (?1 = '' OR destination = ?1) AND "
                                   "(?2 = '' OR state = ?2) ORDER BY id DESC LIMIT ?3");
    s.bind(1, destination).bind(2, state).bind(3, static_cast<int64_t>(limit));
    std::vector<OutboxItem> out;
    while (s.step()) out.push_back(read_item(s));
    return out;
}

std::size_t SqliteOutbox::retry_dead(const std::string& destination, int64_t now_ms) {
    std::lock_guard lock(db_->mutex());
    Statement s(db_->handle(),
                "UPDATE forward_items SET state = 'pending', next_attempt_ms = ?2, created_ms = "
                "?2 WHERE state = 'dead' AND (?1 = '' OR destination = ?1)");
    s.bind(1, destination).bind(2, now_ms);
    s.step();
    return static_cast<std::size_t>(sqlite3_changes(db_->handle()));
}

std::vector<forward::Backlog> SqliteOutbox::backlog() {
    std::lock_guard lock(db_->mutex());
    Statement s(db_->handle(),
                "SELECT destination, SUM(state = 'pending'), SUM(state = 'dead'), "
                "MIN(CASE WHEN state = 'pending' THEN created_ms END) FROM forward_items GROUP "
                "BY destination ORDER BY destination");
    std::vector<forward::Backlog> out;
    while (s.step()) {
        out.push_back({s.text(0), static_cast<uint64_t>(s.integer(1)),
                       static_cast<uint64_t>(s.integer(2)), s.integer(3)});
    }
    return out;
}

}  // namespace countylink::store
