-- TPC-H Q1, pricing summary report: one scan of lineitem, grouped aggregates
select l_returnflag, l_linestatus, sum(l_quantity) as sum_qty, sum(l_extendedprice) as sum_base_price,
       sum(l_extendedprice * (100 - l_discount)) / 100 as sum_disc_price,
       sum(l_extendedprice * (100 - l_discount) * (100 + l_tax)) / 10000 as sum_charge,
       printf('%.4f', avg(l_quantity)) as avg_qty, printf('%.2f', avg(l_extendedprice)) as avg_price,
       printf('%.4f', avg(l_discount)) as avg_disc, count(*) as count_order
from lineitem
where l_shipdate <= date('1998-12-01', '-90 days')
group by l_returnflag, l_linestatus
order by l_returnflag, l_linestatus;
