-- TPC-H Q6, forecasting revenue change: a filtered scan of lineitem
select sum(l_extendedprice * l_discount) / 100 as revenue
from lineitem
where l_shipdate >= '1994-01-01' and l_shipdate < '1995-01-01'
  and l_discount between 5 and 7 and l_quantity < 24;
