#include "common/blocking.hpp"
