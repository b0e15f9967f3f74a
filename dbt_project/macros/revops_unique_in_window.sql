{#- The key `column_name` is unique, checked for the keys of the rows in the test window
    (revops_test_window on `window_column`: on a daily run, the rows the run loaded)
    against the whole table, so a changed row stored twice - once as it was, once as it is
    - fails it as it would fail `unique`; outside a window (a full build, the weekly full
    test day) every key is checked. Nulls are not counted (as `unique`). -#}
{% test revops_unique_in_window(model, column_name, window_column='_loaded_at') %}

{%- set window = revops_test_window(window_column) %}

select
    {{ column_name }} as unique_field,
    count(*) as n_records
from {{ model }}
where
    {{ column_name }} is not null
    {%- if window %}
        and {{ column_name }} in (
            select {{ column_name }} from {{ model }} where {{ window }}
        )
    {%- endif %}
group by {{ column_name }}
having count(*) > 1

{% endtest %}
