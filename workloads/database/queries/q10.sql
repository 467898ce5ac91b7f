-- TPC-H Q10, returned item reporting: four-way join, top twenty customers
select c_custkey, c_name, sum(l_extendedprice * (100 - l_discount)) / 100 as revenue, c_acctbal, n_name,
       c_address, c_phone
from customer, orders, lineitem, nation
where c_custkey = o_custkey and l_orderkey = o_orderkey and o_orderdate >= '1993-10-01'
  and o_orderdate < '1994-01-01' and l_returnflag = 'R' and c_nationkey = n_nationkey
group by c_custkey, c_name, c_acctbal, c_phone, n_name, c_address
order by revenue desc, c_custkey
limit 20;
