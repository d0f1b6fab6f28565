#pragma once
// Command-line reports on a backup check's runs (drwatchd backup list CHECK).

#include <boost/asio/awaitable.hpp>
#include <ostream>
#include <string>

#include "common/blocking.hpp"
#include "storage/backend.hpp"

namespace drwatch::backup {

/// Prints every run of `check` in `store`, oldest first: id, date, size,
/// complete or not (a manifest whose files are not all there with their
/// size is not complete: why is printed), and whether each file's size and
/// SHA-256 match the manifest. Returns the process exit status: 0 when every complete run
/// verifies, 1 otherwise (a store error included, printed).
boost::asio::awaitable<int> ListCommand(storage::Backend& store, BlockingPool& pool, std::string check,
                                        std::ostream& out);

}  // namespace drwatch::backup
