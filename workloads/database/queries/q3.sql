-- TPC-H Q3, shipping priority: customer x orders x lineitem, top ten by revenue
select l_orderkey, sum(l_extendedprice * (100 - l_discount)) / 100 as revenue, o_orderdate, o_shippriority
from customer, orders, lineitem
where c_mktsegment = 'BUILDING' and c_custkey = o_custkey and l_orderkey = o_orderkey
  and o_orderdate < '1995-03-15' and l_shipdate > '1995-03-15'
group by l_orderkey, o_orderdate, o_shippriority
order by revenue desc, o_orderdate, l_orderkey
limit 10;
