-- TPC-H Q14, promotion effect: lineitem x part
select printf('%.4f', 100.0 * sum(case when p_type like 'PROMO%' then l_extendedprice * (100 - l_discount) else 0 end)
                      / sum(l_extendedprice * (100 - l_discount))) as promo_revenue
from lineitem, part
where l_partkey = p_partkey and l_shipdate >= '1995-09-01' and l_shipdate < '1995-10-01';
