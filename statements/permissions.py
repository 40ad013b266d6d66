"""Who may read and issue statements; the views and the services use these alike.

Every staff role reads them (they sit on the client's page); operations and after-sales, who answer to the client
for its orders and its tickets, also issue one on demand. A client user reads and issues its own organization's.
"""

from factory import roles

VIEW_ROLES = roles.STAFF_ROLES
ISSUE_ROLES = (roles.OPERATIONS, roles.AFTERSALES)
