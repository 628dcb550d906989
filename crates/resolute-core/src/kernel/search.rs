//! Searches: one page of rows ordered by id, with a cursor when more rows exist.

use crate::command::{Page, PromiseQuery, ScheduleQuery, TaskQuery};
use crate::model::{Promise, Schedule, Task};
use crate::reply::Found;
use crate::txn::{Txn, TxnResult};

/// Searches never apply lazy timeouts: results may show pending promises past their deadline.
pub(crate) fn promises(txn: &mut dyn Txn, query: &PromiseQuery) -> TxnResult<Found<Promise>> {
    let probe = PromiseQuery { page: one_more(&query.page), ..query.clone() };
    Ok(page(txn.search_promises(&probe)?, query.page.limit, |promise| &promise.id))
}

pub(crate) fn tasks(txn: &mut dyn Txn, query: &TaskQuery) -> TxnResult<Found<Task>> {
    let probe = TaskQuery { page: one_more(&query.page), ..query.clone() };
    Ok(page(txn.search_tasks(&probe)?, query.page.limit, |task| &task.id))
}

pub(crate) fn schedules(txn: &mut dyn Txn, query: &ScheduleQuery) -> TxnResult<Found<Schedule>> {
    let probe = ScheduleQuery { page: one_more(&query.page), ..query.clone() };
    Ok(page(txn.search_schedules(&probe)?, query.page.limit, |schedule| &schedule.id))
}

/// Asks for one row beyond the page so that "more exist" is known without a count.
fn one_more(page: &Page) -> Page {
    Page { limit: page.limit.saturating_add(1), cursor: page.cursor.clone() }
}

fn page<T>(mut rows: Vec<T>, limit: usize, id: impl Fn(&T) -> &String) -> Found<T> {
    if rows.len() <= limit {
        return Found { items: rows, cursor: None };
    }
    rows.truncate(limit);
    let cursor = rows.last().map(|row| id(row).clone());
    Found { items: rows, cursor }
}
