// Package postgres implements identity.Store on PostgreSQL through pgx.
//
// Several audian processes may share one database and then act as one
// server. Three things make that safe:
//
//   - Open applies the embedded migrations inside a transaction holding a
//     transaction-scoped advisory lock, so processes started together do
//     not race to create the schema.
//   - Every write appends its identity.Event in the same transaction, and
//     event inserts are serialized by a second advisory lock, so that the
//     feed read by Events never shows a sequence number before a smaller
//     one has committed (see appendEvents).
//   - The transaction that appends events also sends pg_notify on channel
//     "audian_events"; DB.Listen turns those notifications into calls of a
//     wake function, so that followers poll Events as soon as something
//     changed instead of on a timer alone.
//
// Times are stored as timestamptz with NULL for the zero time, and are
// returned in UTC truncated to microseconds, PostgreSQL's precision. Values
// passed to create and update methods are normalized the same way, so what a
// caller holds after a write equals what a later read returns.
package postgres
